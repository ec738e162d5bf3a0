/**
 * Interop: a Python grpcio client (tests/interop/python_client.py, run with Debian's
 * /usr/bin/python3) logs in, holds the Session stream and chats with an SDK user. Its stubs
 * are generated from proto/ at test time with grpc_tools.protoc. A second one
 * (python_reflection_client.py) has no stubs of our API at all: it builds its messages from
 * what server reflection returns.
 */
import { execFile, spawn, spawnSync, type ChildProcessByStdio } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import type { Message } from "@messenger/proto/chat/v1/types";
import { protoFiles, protoRoot } from "@messenger/proto";
import type { MessengerClient } from "@messenger/sdk";
import { eventually } from "@messenger/testing";
import { newUser, startTestSystem, type TestSystem } from "@messenger/test-system";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { textOf } from "../support/api-user.js";

/** Always Debian's interpreter: the python3 on PATH may be a pyenv without grpcio. */
const python = "/usr/bin/python3";
const script = fileURLToPath(new URL("./python_client.py", import.meta.url));
const reflectionScript = fileURLToPath(new URL("./python_reflection_client.py", import.meta.url));
const installHint = "install the Debian packages python3-grpcio and python3-grpc-tools (apt-get install python3-grpcio python3-grpc-tools)";

/** A message as python_client.py prints it; uint64 seq as a decimal string (or a number). */
interface PyMessage {
  id: string;
  conversation_id: string;
  seq: string | number;
  sender_user_id: string;
  sender_device_id: string;
  client_message_id: string;
  text: string;
  sent_at_seconds: string | null;
}
interface ReadyLine {
  event: "ready";
  user_id: string;
  device_id: string;
  session_id: string;
  sync_version: string | number;
  replayed_messages: number;
}
interface ResultLine {
  event: "result";
  user_id: string;
  received: PyMessage;
  sent: PyMessage;
  duplicate: boolean;
}
type PyLine = ReadyLine | ResultLine;

/** The environment of the child: no pyenv leftovers that could redirect Debian's python. */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PYTHONUNBUFFERED: "1", PYTHONDONTWRITEBYTECODE: "1" };
  delete env.PYTHONHOME;
  delete env.PYTHONPATH;
  return env;
}

function runPython(args: string[], cwd?: string): { ok: boolean; stdout: string; stderr: string } {
  const r = spawnSync(python, args, { encoding: "utf8", env: childEnv(), timeout: 30_000, ...(cwd ? { cwd } : {}) });
  const stderr = r.error ? `${r.error.message}\n${r.stderr ?? ""}` : (r.stderr ?? "");
  return { ok: !r.error && r.status === 0, stdout: r.stdout ?? "", stderr };
}

/** One run of python_client.py: its JSON stdout lines, its stderr and how it exited. */
class PythonRun {
  readonly lines: PyLine[] = [];
  readonly badLines: string[] = [];
  stderr = "";
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly exitPromise: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(readonly child: ChildProcessByStdio<null, Readable, Readable>) {
    createInterface({ input: child.stdout }).on("line", (line) => {
      try {
        this.lines.push(JSON.parse(line) as PyLine);
      } catch {
        this.badLines.push(line);
      }
    });
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (s: string) => (this.stderr += s));
    this.exitPromise = new Promise((resolve) => {
      child.on("error", (err) => {
        this.stderr += `spawn failed: ${err.message}\n`;
        this.exit = { code: -1, signal: null };
        resolve(this.exit);
      });
      child.on("close", (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
  }

  get running(): boolean {
    return this.exit === undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  describe(): string {
    return `exit ${JSON.stringify(this.exit)}; stderr: ${this.stderr.trim() || "(empty)"}; non-JSON stdout: ${JSON.stringify(this.badLines)}`;
  }

  /** Resolves with the first line of that event; fails early if the process ended without it. */
  async waitFor<E extends PyLine["event"]>(event: E, timeoutMs: number): Promise<Extract<PyLine, { event: E }>> {
    const find = (): Extract<PyLine, { event: E }> | undefined => this.lines.find((l): l is Extract<PyLine, { event: E }> => l.event === event);
    try {
      await eventually(() => {
        if (find()) return true;
        if (this.exit) throw new Error(`python_client.py ended before "${event}"`);
        return false;
      }, `python_client.py to print "${event}"`, timeoutMs);
    } catch (err) {
      throw new Error(`${(err as Error).message} (${this.describe()})`);
    }
    return find()!;
  }

  async exited(timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`python_client.py still running after ${timeoutMs} ms (${this.describe()})`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exitPromise, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

let sys: TestSystem | undefined;
let stubsDir: string | undefined;
let reflectionStubsDir: string | undefined;
let sdk: MessengerClient | undefined;
let run: PythonRun | undefined;

/** Why Python cannot run the test, if it cannot; reported as the test's failure (never a skip). */
let pythonProblem: string | undefined;

/** Checks the interpreter and generates the stubs; returns a problem or undefined. */
function preparePython(): string | undefined {
  const check = runPython(["-c", "import grpc, grpc_tools.protoc"]);
  if (!check.ok) {
    return `${python} cannot import grpc and grpc_tools, which this interop test needs: ${installHint}. Python said: ${check.stderr.trim()}`;
  }
  // grpc_tools bundles the well-known types (google/protobuf/timestamp.proto) in its _proto dir.
  const wkt = runPython(["-c", "import grpc_tools, os; print(os.path.join(os.path.dirname(grpc_tools.__file__), '_proto'))"]);
  if (!wkt.ok) return `cannot locate grpc_tools' bundled protos: ${wkt.stderr}`;
  stubsDir = mkdtempSync(join(tmpdir(), "messenger-py-stubs-"));
  const gen = runPython([
    "-m",
    "grpc_tools.protoc",
    "-I",
    protoRoot,
    "-I",
    wkt.stdout.trim(),
    `--python_out=${stubsDir}`,
    `--grpc_python_out=${stubsDir}`,
    // Our API only (it imports nothing but well-known types): the vendored google/ and grpc/
    // files are not needed here, and error_details.proto uses proto3 `optional`, which the
    // protoc bundled with Debian's grpc_tools (3.5) refuses.
    ...protoFiles().filter((f) => f.startsWith("messenger/")),
  ], protoRoot);
  if (!gen.ok) return `grpc_tools.protoc failed to generate the Python stubs: ${gen.stderr}`;
  // The reflection protocol's stubs for the reflection client, generated under reflection/v1/
  // (a grpc/ folder on its path would shadow the grpcio package).
  const source = join(stubsDir, "reflection-src");
  mkdirSync(join(source, "reflection/v1"), { recursive: true });
  copyFileSync(join(protoRoot, "grpc/reflection/v1/reflection.proto"), join(source, "reflection/v1/reflection.proto"));
  reflectionStubsDir = join(stubsDir, "reflection-stubs");
  mkdirSync(reflectionStubsDir);
  const reflectionGen = runPython(["-m", "grpc_tools.protoc", "-I", source, `--python_out=${reflectionStubsDir}`, `--grpc_python_out=${reflectionStubsDir}`, "reflection/v1/reflection.proto"]);
  if (!reflectionGen.ok) return `grpc_tools.protoc failed to generate the reflection stubs: ${reflectionGen.stderr}`;
  return undefined;
}

beforeAll(async () => {
  pythonProblem = preparePython();
  if (!pythonProblem) sys = await startTestSystem();
});

afterAll(async () => {
  if (run?.running) run.child.kill("SIGKILL");
  await sdk?.close();
  await sys?.dispose();
  if (stubsDir) rmSync(stubsDir, { recursive: true, force: true });
});

describe("a Python grpcio client", () => {
  it("logs in, holds the Session stream, receives the SDK user's message and replies in order", { timeout: 60_000 }, async () => {
    if (pythonProblem) throw new Error(pythonProblem);
    const system = sys!;
    const sdkGot: Message[] = [];
    sdk = await newUser(system.grpcUrl);
    sdk.on("message", (m) => sdkGot.push(m));
    await sdk.connect();

    const incoming = "hello from the SDK to Python";
    const reply = "hello back from Python";
    const deviceId = "python-device";
    const config = {
      address: `127.0.0.1:${system.grpcPort}`,
      stubs_dir: stubsDir,
      username: `py_${process.pid}_${Date.now().toString(36)}`,
      password: "python interop password",
      device_id: deviceId,
      register: true,
      expect_text: incoming,
      reply_text: reply,
      client_message_id: "py-reply-1",
      timeout_s: 45,
    };
    const child = spawn(python, [script, JSON.stringify(config)], { env: childEnv(), stdio: ["ignore", "pipe", "pipe"] });
    run = new PythonRun(child);

    // The Python client is welcomed and synced before the SDK user writes to it.
    const ready = await run.waitFor("ready", 30_000);
    expect(ready.device_id).toBe(deviceId);
    expect(ready.session_id).toBeTruthy();
    expect(ready.replayed_messages).toBe(0);
    const pyUserId = ready.user_id;

    const conv = await sdk.openDirect(pyUserId);
    const sent = await sdk.send(conv.id, incoming);
    expect(sent.seq).toBe(1n);

    const result = await run.waitFor("result", 30_000);
    const exit = await run.exited(15_000);
    expect(exit, run.describe()).toEqual({ code: 0, signal: null });
    expect(run.badLines).toEqual([]);

    // What Python received: the SDK user's message, seq 1.
    expect(BigInt(result.received.seq)).toBe(1n);
    expect(result.received).toMatchObject({ id: sent.id, conversation_id: conv.id, sender_user_id: sdk.user!.id, text: incoming });
    expect(Number(result.received.sent_at_seconds)).toBeGreaterThan(0);
    // What Python sent: stored as seq 2, from its user and device.
    expect(result.duplicate).toBe(false);
    expect(BigInt(result.sent.seq)).toBe(2n);
    expect(result.sent).toMatchObject({
      conversation_id: conv.id,
      sender_user_id: pyUserId,
      sender_device_id: deviceId,
      client_message_id: "py-reply-1",
      text: reply,
    });

    // The SDK user gets the reply live, after its own message, with the next seq.
    await eventually(() => sdkGot.some((m) => textOf(m) === reply), "the SDK user receives the Python reply");
    const inConv = sdkGot.filter((m) => m.conversationId === conv.id);
    expect(inConv.map((m) => [m.seq, textOf(m)])).toEqual([
      [1n, incoming],
      [2n, reply],
    ]);
    expect(inConv[1]).toMatchObject({ id: result.sent.id, senderUserId: pyUserId, senderDeviceId: deviceId, clientMessageId: "py-reply-1" });
    // Python acked seq 1 before replying: the SDK user saw the delivered receipt.
    await eventually(() => (sdk!.receiptsOf(conv.id).get(pyUserId)?.deliveredSeq ?? 0n) >= 1n, "delivered receipt from the Python client");
  });
});

/** What python_reflection_client.py prints. */
interface ReflectionRun {
  services: string[];
  files: string[];
  registered: { user: { id: string; username: string } };
  login_expires_at: string | undefined;
  looked_up: { user: { id: string } };
  health: { status: string };
}

describe("a Python grpcio client built from server reflection only", () => {
  for (const port of ["gRPC", "Connect"] as const) {
    it(`loads the API with its imports and well-known types, registers, logs in, looks up and checks health on the ${port} port`, { timeout: 60_000 }, async () => {
      if (pythonProblem) throw new Error(pythonProblem);
      const system = sys!;
      const address = port === "gRPC" ? `127.0.0.1:${system.grpcPort}` : new URL(system.httpUrl).host;
      const username = `pyrefl_${port.toLowerCase()}_${Date.now().toString(36)}`;
      const config = { address, stubs_dir: reflectionStubsDir, username, password: "python reflection password" };
      // Not spawnSync: the system under test runs in this process and must keep answering.
      const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = execFile(python, [reflectionScript, JSON.stringify(config)], { env: childEnv(), timeout: 30_000 }, (_err, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }));
      });
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout.trim()) as ReflectionRun;
      expect(out.services).toEqual(
        expect.arrayContaining([
          "grpc.health.v1.Health",
          "grpc.reflection.v1.ServerReflection",
          "messenger.accounts.v1.AccountsService",
          "messenger.accounts.v1.ContactsService",
          "messenger.gateway.v1.GatewayService",
          "messenger.groups.v1.GroupService",
          "messenger.history.v1.HistoryService",
          "messenger.presence.v1.PresenceService",
        ]),
      );
      // The real files, imports included: what a client needs to build Tokens (a Timestamp).
      expect(out.files).toEqual(expect.arrayContaining(["google/protobuf/timestamp.proto", "messenger/accounts/v1/types.proto", "messenger/accounts/v1/accounts_service.proto"]));
      expect(out.registered.user.username).toBe(username);
      // RFC 3339: the pool knew google.protobuf.Timestamp as the well-known type.
      expect(out.login_expires_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
      expect(Date.parse(out.login_expires_at!)).toBeGreaterThan(Date.now());
      expect(out.looked_up.user.id).toBe(out.registered.user.id);
      expect(out.health.status).toBe("SERVING");
    });
  }
});
