import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, cpSync, existsSync, globSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import type { Message } from "@messenger/proto/chat/v1/types";
import type { MessengerClient } from "@messenger/sdk";
import { collectMessages, newUser } from "@messenger/test-system";
import { eventually, freePort, startCluster, testLimitsEnv, type LocalCluster } from "@messenger/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run, startServer, type Identity, type Run, type Server } from "./processes.js";

// The production path as the image takes it (Dockerfile): `npm run build`; the production
// install staged by scripts/stage-production.mjs --manifests-only from a folder holding only
// what the image's manifests stage copies (npm ci --omit=dev, which compiles better-sqlite3
// from source, about 100 s of CPU here); the compiled code staged by --code-only and laid
// over it, as the final stage copies both; then every service started from that tree with
// plain node through the dispatcher, against a real nats-server, and used through the SDK and
// the smoke command the chart's `helm test` runs; standalone (the image's default command)
// too, and as the image's uid 10001 over a tree it cannot write.
const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
const work = mkdtempSync(join(tmpdir(), "messenger-production-"));
const tree = join(work, "app");
const dataDir = join(work, "data");
const clients: MessengerClient[] = [];
const servers: Server[] = [];
let cluster: LocalCluster | undefined;
let stopped = false;

/** The image's service user (Dockerfile: USER 10001:10001). */
const imageUser = { uid: 10001, gid: 10001 } as const;
const isRoot = process.getuid?.() === 0;

/** The environment the image gives a command (Dockerfile: ENV, HOME of its user), over this one's. */
function imageEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, NODE_ENV: "production", NODE_OPTIONS: "--conditions=compiled", HOME: "/nonexistent", ...extra };
}

/** `messenger <args>` run from the staged tree, as the image's entry point runs it. */
function messenger(args: string[], env: NodeJS.ProcessEnv = imageEnv(), as: Identity = {}): Promise<Run> {
  return run(process.execPath, [join(tree, "bin/messenger.mjs"), ...args], { cwd: tree, env, ...as });
}

/** `messenger standalone` from the staged tree on free ports, its data in `data`. */
async function standalone(data: string, as: Identity = {}): Promise<Server> {
  const env = imageEnv({ GRPC_PORT: "0", HTTP_PORT: "0", DATA_DIR: data, SCRYPT_LOG_N: "12", LOG_LEVEL: "warn", ...testLimitsEnv() });
  const server = await startServer(process.execPath, [join(tree, "bin/messenger.mjs"), "standalone"], { cwd: tree, env, timeoutMs: 60_000, ...as });
  servers.push(server);
  return server;
}

/** Files under `dir` (relative paths), node_modules left out. */
function ownFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && !relative(dir, e.parentPath).split("/").includes("node_modules"))
    .map((e) => relative(dir, join(e.parentPath, e.name)));
}

/**
 * What the image's dependency stage sees (Dockerfile): the files its `manifests` stage
 * copies, read from the Dockerfile itself, and scripts/stage-production.mjs.
 */
function depsStageFiles(): { globs: string[]; files: string[] } {
  const dockerfile = readFileSync(join(repoRoot, "Dockerfile"), "utf8");
  const stage = dockerfile.split(/^FROM /m).find((s) => /^\S+ AS manifests$/m.test(s.split("\n")[0] ?? "")) ?? "";
  const globs = [...stage.matchAll(/^COPY (?:--parents )?(.+) \.\/$/gm)].flatMap((m) => m[1]!.split(/\s+/));
  return { globs, files: [...globs.flatMap((g) => globSync(g, { cwd: repoRoot })), "scripts/stage-production.mjs"] };
}

/** Stages the tree as the image's stages do, into `tree`. */
async function stageAsTheImage(): Promise<void> {
  const context = join(work, "deps-stage");
  for (const f of depsStageFiles().files) {
    mkdirSync(dirname(join(context, f)), { recursive: true });
    cpSync(join(repoRoot, f), join(context, f));
  }
  const deps = await run(process.execPath, ["scripts/stage-production.mjs", "--manifests-only", tree], { cwd: context, timeoutMs: 420_000 });
  expect(deps.code, `staging the production install failed:\n${deps.stdout}\n${deps.stderr}`).toBe(0);
  const code = join(work, "code");
  const staged = await run(process.execPath, ["scripts/stage-production.mjs", "--code-only", code], { cwd: repoRoot });
  expect(staged.code, `staging the compiled code failed:\n${staged.stdout}\n${staged.stderr}`).toBe(0);
  // COPY --from=deps /app /app, then COPY --from=build /app /app.
  cpSync(code, tree, { recursive: true });
}

beforeAll(async () => {
  const build = await run(process.execPath, ["scripts/build.mjs"], { cwd: repoRoot });
  expect(build.code, `npm run build failed:\n${build.stderr}`).toBe(0);
  await stageAsTheImage();
  cluster = await startCluster({ compiledRoot: tree, gateways: 2, dataDir, env: { SCRYPT_LOG_N: "12", LOG_LEVEL: "warn" } });
}, 480_000);

afterAll(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.stop()));
  if (!stopped) await cluster?.stop();
  rmSync(work, { recursive: true, force: true });
}, 60_000);

describe("production build: the cluster from compiled output with production dependencies only", () => {
  it("the staged tree holds compiled JavaScript and production dependencies, and no TypeScript tooling", () => {
    for (const tool of ["tsx", "typescript", "typescript-7", "vitest", "esbuild", "eslint", "@bufbuild/buf"]) {
      expect(existsSync(join(tree, "node_modules", tool)), `${tool} is installed in the production tree`).toBe(false);
    }
    // Outside node_modules: manifests, the dispatcher and build output, nothing else.
    const files = ownFiles(tree);
    expect(files.filter((f) => !/(^|\/)package(-lock)?\.json$/.test(f) && f !== "bin/messenger.mjs" && !/^(.+\/)?dist\//.test(f))).toEqual([]);
    expect(files.filter((f) => f.endsWith(".ts"))).toEqual([]);
    expect(files).toContain("services/store/dist/src/storage/sqlite-writer-worker.js");
    expect(files).toContain("dist/scripts/smoke.js");
  });

  it("better-sqlite3 keeps its compiled addon and nothing of its build (objects, SQLite and C++ sources)", () => {
    const pkg = join(tree, "node_modules/better-sqlite3");
    expect(readdirSync(join(pkg, "build"))).toEqual(["Release"]);
    expect(readdirSync(join(pkg, "build/Release"))).toEqual(["better_sqlite3.node"]);
    expect(existsSync(join(pkg, "deps"))).toBe(false);
    expect(existsSync(join(pkg, "src"))).toBe(false);
  });

  it("the tree holds the production workspaces only: no test harness or benchmark, nor their dependencies", () => {
    const staged = ["packages", "services"].flatMap((d) => readdirSync(join(tree, d)).map((w) => `${d}/${w}`));
    for (const w of staged) {
      expect(existsSync(join(tree, w, "package.json")), `${w} has its package.json`).toBe(true);
      expect(existsSync(join(tree, w, "dist")), `${w} has its build`).toBe(true);
    }
    expect(staged).toEqual(expect.arrayContaining(globSync("services/*/package.json", { cwd: repoRoot }).map((f) => dirname(f))));
    expect(staged).toContain("packages/sdk");
    for (const w of ["packages/testing", "packages/test-system", "packages/bench"]) expect(staged).not.toContain(w);
    // npm links exactly the staged workspaces, every link resolving.
    const names = staged.map((w) => (JSON.parse(readFileSync(join(tree, w, "package.json"), "utf8")) as { name: string }).name);
    const linked = readdirSync(join(tree, "node_modules/@messenger")).map((n) => `@messenger/${n}`);
    expect(linked.sort()).toEqual(names.sort());
    for (const n of linked) expect(existsSync(join(tree, "node_modules", n, "package.json")), `${n} resolves`).toBe(true);
    // The harness's own dependency (@messenger/testing lists it) is not installed.
    expect(existsSync(join(tree, "node_modules/fast-check"))).toBe(false);
  });

  it("the image's dependency stage copies the manifest of every workspace the root package.json lists", () => {
    const { globs } = depsStageFiles();
    const workspaces = (JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { workspaces: string[] }).workspaces;
    expect(globs).toEqual(expect.arrayContaining(["package.json", "package-lock.json", ...workspaces.map((w) => `${w}/package.json`)]));
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

describe("standalone, the image's default command, from the staged tree", () => {
  if (!isRoot) console.warn("tests/production: not root, so the run as the image's uid 10001 over a tree it cannot write is skipped (only root can start a process as another user)");

  it("serves a chat: a message from one user reaches the other, kept in DATA_DIR; SIGTERM stops it with exit code 0", async () => {
    const data = join(work, "standalone-data");
    const server = await standalone(data);
    const alice = await newUser(server.grpcUrl);
    const bob = await newUser(server.grpcUrl);
    clients.push(alice, bob);
    const bobGot = collectMessages(bob);
    await Promise.all([alice.connect(), bob.connect()]);
    const conv = await alice.openDirect(bob.user!.id);
    const sent = await alice.send(conv.id, "hello from the default command");
    expect(sent.seq).toBe(1n);
    await eventually(() => bobGot.some((m) => m.body.case === "text" && m.body.value === "hello from the default command"), "bob receives alice's message");
    await Promise.all([alice.close(), bob.close()]);
    expect(await server.stop(), server.stderr()).toBe(0);
    expect(existsSync(join(data, "history.db"))).toBe(true);
  });

  it.skipIf(!isRoot)("runs as uid 10001 over a root-owned tree it cannot write, writing only its DATA_DIR", async () => {
    // The tree as the image holds it: owned by root, nothing writable by group or others, its
    // parents traversable (mkdtemp made the work folder 0700; the image's /app is under /).
    chmodSync(work, 0o755);
    execFileSync("chmod", ["-R", "go-w", tree]);
    expect(statSync(tree).uid).toBe(0);
    const data = join(work, "uid-data");
    mkdirSync(data, { mode: 0o700 });
    chownSync(data, imageUser.uid, imageUser.gid);
    const probe = join(tree, "services/store/dist/probe");
    const write = await run(process.execPath, ["--eval", `require("node:fs").writeFileSync(${JSON.stringify(probe)}, "x")`], { cwd: tree, ...imageUser });
    expect(write.stderr, "uid 10001 can write into the tree, so this test would prove nothing").toContain("EACCES");
    const before = readdirSync(tree, { recursive: true }).sort();

    const server = await standalone(data, imageUser);
    expect(readFileSync(`/proc/${server.child.pid}/status`, "utf8")).toMatch(/^Uid:\s+10001\s/m);
    const smoke = await messenger(["smoke"], imageEnv({ MESSENGER_GRPC_URL: server.grpcUrl }), imageUser);
    expect(smoke.code, `${smoke.stdout}\n${smoke.stderr}\n${server.stderr()}`).toBe(0);
    expect(smoke.stdout).toContain("smoke: message received by the other user");
    expect(await server.stop(), server.stderr()).toBe(0);

    // What it wrote (accounts, history, keys) is in DATA_DIR and belongs to it; the tree is as it was.
    const written = readdirSync(data, { recursive: true }).map(String);
    expect(written).toEqual(expect.arrayContaining(["history.db", "accounts.db"]));
    expect(written.filter((f) => lstatSync(join(data, f)).uid !== imageUser.uid)).toEqual([]);
    expect(readdirSync(tree, { recursive: true }).sort()).toEqual(before);
  });
});
