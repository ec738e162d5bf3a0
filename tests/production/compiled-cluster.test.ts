import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import type { Message } from "@messenger/proto/chat/v1/types";
import type { MessengerClient } from "@messenger/sdk";
import { collectMessages, newUser } from "@messenger/test-system";
import { eventually, freePort, startCluster, type LocalCluster } from "@messenger/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// The production path as the image takes it (Dockerfile): `npm run build`, the runtime tree
// staged with scripts/stage-production.mjs (production dependencies only: npm ci --omit=dev,
// which compiles better-sqlite3 from source, about 100 s of CPU here), then every service
// started from that tree with plain node through the dispatcher, against a real nats-server,
// and used through the SDK and the smoke command the chart's `helm test` runs.
const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
const work = mkdtempSync(join(tmpdir(), "messenger-production-"));
const tree = join(work, "app");
const dataDir = join(work, "data");
const clients: MessengerClient[] = [];
let cluster: LocalCluster | undefined;
let stopped = false;

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to its end, collecting its output; kills it past `timeoutMs`. */
function run(command: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${command} ${args.join(" ")} took over ${opts.timeoutMs} ms:\n${stdout}\n${stderr}`));
    }, opts.timeoutMs ?? 60_000);
    child.once("error", reject);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The environment the image gives a command (Dockerfile: NODE_OPTIONS), over this one's. */
function imageEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, NODE_OPTIONS: "--conditions=compiled", ...extra };
}

/** `messenger <args>` run from the staged tree, as the image's entry point runs it. */
function messenger(args: string[], env: NodeJS.ProcessEnv = imageEnv()): Promise<Run> {
  return run(process.execPath, [join(tree, "bin/messenger.mjs"), ...args], { cwd: tree, env });
}

/** Files under `dir` (relative paths), node_modules left out. */
function ownFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && !relative(dir, e.parentPath).split("/").includes("node_modules"))
    .map((e) => relative(dir, join(e.parentPath, e.name)));
}

beforeAll(async () => {
  const build = await run(process.execPath, ["scripts/build.mjs"], { cwd: repoRoot });
  expect(build.code, `npm run build failed:\n${build.stderr}`).toBe(0);
  const stage = await run(process.execPath, ["scripts/stage-production.mjs", tree], { cwd: repoRoot, timeoutMs: 420_000 });
  expect(stage.code, `staging failed:\n${stage.stdout}\n${stage.stderr}`).toBe(0);
  cluster = await startCluster({ compiledRoot: tree, gateways: 2, dataDir, env: { SCRYPT_LOG_N: "12", LOG_LEVEL: "warn" } });
}, 480_000);

afterAll(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  if (!stopped) await cluster?.stop();
  rmSync(work, { recursive: true, force: true });
}, 60_000);

describe("production build: the cluster from compiled output with production dependencies only", () => {
  it("the staged tree holds compiled JavaScript and production dependencies, and no TypeScript tooling", () => {
    for (const tool of ["tsx", "typescript", "typescript-7", "vitest", "esbuild", "eslint", "@bufbuild/buf"]) {
      expect(existsSync(join(tree, "node_modules", tool)), `${tool} is installed in the production tree`).toBe(false);
    }
    expect(existsSync(join(tree, "node_modules/better-sqlite3/build/Release/better_sqlite3.node"))).toBe(true);
    // Outside node_modules: manifests, the dispatcher and build output, nothing else.
    const files = ownFiles(tree);
    expect(files.filter((f) => !/(^|\/)package(-lock)?\.json$/.test(f) && f !== "bin/messenger.mjs" && !/^(.+\/)?dist\//.test(f))).toEqual([]);
    expect(files.filter((f) => f.endsWith(".ts"))).toEqual([]);
    expect(files).toContain("services/store/dist/src/storage/sqlite-writer-worker.js");
    expect(files).toContain("dist/scripts/smoke.js");
  });

  it("every service process runs the dispatcher of the staged tree with plain node and the compiled condition", () => {
    const c = cluster!;
    for (const p of [c.accounts, c.store, c.presence, c.media, c.router, c.groups, ...c.push, ...c.gateways]) {
      const argv = readFileSync(`/proc/${p.child.pid}/cmdline`, "utf8").split("\0").filter(Boolean);
      expect(argv.slice(1), p.name).toEqual([join(tree, "bin/messenger.mjs"), p.service]);
      const env = readFileSync(`/proc/${p.child.pid}/environ`, "utf8").split("\0");
      expect(env, p.name).toContain("NODE_OPTIONS=--conditions=compiled");
    }
  });

  it("two users on different gateways exchange a message each way, stored by the store's writer thread", async () => {
    const [gw1, gw2] = cluster!.gatewayUrls();
    const alice = await newUser(gw1!);
    const bob = await newUser(gw2!);
    clients.push(alice, bob);
    const aliceGot = collectMessages(alice);
    const bobGot = collectMessages(bob);
    await Promise.all([alice.connect(), bob.connect()]);
    const conv = await alice.openDirect(bob.user!.id);
    const text = (m: Message): string => (m.body.case === "text" ? m.body.value : "");

    const hello = await alice.send(conv.id, "hello from compiled code");
    expect(hello.seq).toBe(1n);
    await eventually(() => bobGot.some((m) => text(m) === "hello from compiled code"), "bob receives alice's message");
    const reply = await bob.send(conv.id, "and back");
    expect(reply.seq).toBe(2n);
    await eventually(() => aliceGot.some((m) => text(m) === "and back"), "alice receives bob's reply");

    const history = await bob.listMessages(conv.id, { direction: "forward", pageSize: 10 });
    expect(history.messages.map((m) => [m.seq, text(m)])).toEqual([
      [1n, "hello from compiled code"],
      [2n, "and back"],
    ]);
    expect(existsSync(join(dataDir, "store", "history.db"))).toBe(true);
  });

  it("smoke passes against a gateway, and fails with the step and the reason against an address nobody serves", async () => {
    const ok = await messenger(["smoke"], imageEnv({ MESSENGER_GRPC_URL: cluster!.gatewayUrls()[0]! }));
    expect(ok.code, `${ok.stdout}\n${ok.stderr}`).toBe(0);
    expect(ok.stdout).toContain("smoke: message received by the other user");
    expect(ok.stdout).toContain("smoke: ok");

    const nobody = await messenger(["smoke", "--url", `http://127.0.0.1:${await freePort()}`, "--timeout-ms", "20000"]);
    expect(nobody.code).toBe(1);
    expect(nobody.stderr).toMatch(/smoke: FAILED at "register and log in two users": Unavailable/);
  });

  it("the dispatcher refuses an unknown command, and a run without the compiled condition, with exit code 2", async () => {
    const unknown = await messenger(["gatewy"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "gatewy"');
    expect(unknown.stderr).toContain("usage: messenger <command>");

    const { NODE_OPTIONS: _, ...plain } = process.env;
    const uncompiled = await messenger(["gateway"], plain);
    expect(uncompiled.code).toBe(2);
    expect(uncompiled.stderr).toContain("--conditions=compiled");
  });

  it("the operator commands run from the staged tree: token-keys, mongo-init, archive", async () => {
    const keys = join(work, "token-keys.json");
    const rotated = await messenger(["token-keys", "rotate", keys]);
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(rotated.stdout).toMatch(/^signs +\S+/m);
    const shown = await messenger(["token-keys", "show", keys]);
    expect(shown.stdout).toBe(rotated.stdout);

    // Without MONGODB_URI it stops at its own check, after loading the store's compiled modules.
    const { MONGODB_URI: _, ...noMongo } = imageEnv();
    const mongo = await messenger(["mongo-init"], noMongo);
    expect(mongo.code).toBe(2);
    expect(mongo.stderr).toContain("mongo-init: set MONGODB_URI");

    // Against the running store's data, as an operator would (it is safe while the store runs).
    const archived = await messenger(["archive", "--data-dir", join(dataDir, "store")], noMongo);
    expect(archived.code, archived.stderr).toBe(0);
    expect(archived.stdout).toContain(`archive: history ${join(dataDir, "store")}`);
  });

  it("every service stops on SIGTERM through the dispatcher with its graceful drain (exit code 0)", async () => {
    const c = cluster!;
    await Promise.all(clients.splice(0).map((client) => client.close()));
    stopped = true;
    await c.stop();
    const services = [c.accounts, c.store, c.presence, c.media, c.router, c.groups, ...c.push, ...c.gateways];
    // Killed by the signal itself (no handler reached) would be exit code null with signal SIGTERM.
    expect(services.map((p) => [p.name, p.child.exitCode, p.child.signalCode])).toEqual(services.map((p) => [p.name, 0, null]));
  }, 60_000);
});
