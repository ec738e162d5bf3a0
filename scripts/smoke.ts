// The deployment's smoke test (the Helm chart's `helm test` pod runs it as `messenger smoke`):
// registers two fresh users through the gateway, opens a direct conversation, sends a message
// from one and waits for it on the other's stream. Exit 0 when it arrived; 1 with the step
// that failed and why; 2 for bad usage. The users it makes stay (their names start `smoke-`).
//
//   MESSENGER_GRPC_URL=http://messenger-gateway:7000 messenger smoke [--timeout-ms 60000]
//   npm run build && node --conditions=compiled bin/messenger.mjs smoke --url http://127.0.0.1:50051
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { Code, ConnectError } from "@connectrpc/connect";
import { MessengerClient } from "@messenger/sdk";

const usage = `usage: messenger smoke [--url URL] [--timeout-ms MS]
  --url URL         the gateway's gRPC address (default: MESSENGER_GRPC_URL)
  --timeout-ms MS   fail if the whole check takes longer (default 60000)`;

function options(): { url: string; timeoutMs: number } {
  try {
    const { values } = parseArgs({ options: { url: { type: "string" }, "timeout-ms": { type: "string", default: "60000" } } });
    const url = values.url ?? process.env.MESSENGER_GRPC_URL ?? "";
    const timeoutMs = Number(values["timeout-ms"]);
    if (!/^https?:\/\/./.test(url)) throw new Error("give the gateway's address with --url or MESSENGER_GRPC_URL (http://host:port)");
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw new Error("--timeout-ms takes a positive whole number");
    return { url, timeoutMs };
  } catch (err) {
    console.error(`smoke: ${err instanceof Error ? err.message : String(err)}\n${usage}`);
    process.exit(2);
  }
}

function reason(err: unknown): string {
  if (err instanceof ConnectError) return `${Code[err.code] ?? err.code}: ${err.rawMessage}`;
  return err instanceof Error ? err.message : String(err);
}

const { url, timeoutMs } = options();
const clients: MessengerClient[] = [];
let step = "start";
const started = Date.now();
const say = (line: string): void => void console.log(`smoke: ${line} (${Date.now() - started} ms)`);

// Any failure, a hang past the deadline included, ends the process with the step it was at.
const fail = (why: string): never => {
  console.error(`smoke: FAILED at "${step}": ${why}`);
  process.exit(1);
};
setTimeout(() => fail(`no result within ${timeoutMs} ms`), timeoutMs).unref();

async function user(label: string, password: string): Promise<MessengerClient> {
  const username = `smoke-${Date.now().toString(36)}-${randomBytes(4).toString("hex")}-${label}`;
  const client = new MessengerClient({ url, deviceId: "smoke" });
  clients.push(client);
  await client.register(username, password);
  await client.login(username, password);
  return client;
}

async function check(): Promise<void> {
  const password = randomBytes(18).toString("base64url");
  step = "register and log in two users";
  const [alice, bob] = await Promise.all([user("a", password), user("b", password)]);
  say(`registered ${alice.user!.username} and ${bob.user!.username}`);

  step = "open the message streams";
  await Promise.all([alice.connect(), bob.connect()]);
  say("both streams open and synced");

  step = "open a direct conversation";
  const conversation = await alice.openDirect(bob.user!.id);
  say(`direct conversation ${conversation.id}`);

  step = "receive the message on the other stream";
  const text = `smoke ${randomBytes(6).toString("hex")}`;
  const received = new Promise<bigint>((resolve) => {
    bob.on("message", (m) => {
      if (m.conversationId === conversation.id && m.body.case === "text" && m.body.value === text) resolve(m.seq);
    });
  });
  step = "send a message";
  const sent = await alice.send(conversation.id, text);
  say(`message stored with seq ${sent.seq}`);
  step = "receive the message on the other stream";
  const seq = await received;
  if (seq !== sent.seq) fail(`received seq ${seq}, stored as ${sent.seq}`);
  say("message received by the other user");
}

try {
  await check();
  step = "close the clients";
  await Promise.all(clients.map((c) => c.close()));
  say("ok");
  process.exit(0);
} catch (err) {
  fail(reason(err));
}
