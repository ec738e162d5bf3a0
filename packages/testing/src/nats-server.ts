import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { connect, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The Debian package's binary; tests and `npm run cluster` use a real server. */
export const natsServerBinary = process.env.NATS_SERVER_BIN ?? "/usr/sbin/nats-server";

/** A nats-server with JetStream on a free loopback port and its own store directory. */
export interface NatsServer {
  readonly port: number;
  readonly url: string;
  /** The server's process id (a new one after a restart). */
  readonly pid: number | undefined;
  /** Kills the server (SIGKILL, like a crash) and keeps its store. */
  kill(): Promise<void>;
  /** Starts it again on the same port with the same JetStream store. */
  restart(): Promise<void>;
  /** Stops it (SIGTERM, waiting for the exit) and deletes its store unless `storeDir` was given. */
  stop(): Promise<void>;
}

/** Options of startNatsServer. */
export interface NatsServerOptions {
  /**
   * The JetStream store directory, created if missing and kept by stop(), so streams and KV
   * buckets survive a restart of whoever started the server. Default: a temporary directory
   * that stop() deletes.
   */
  readonly storeDir?: string;
}

async function waitForPortsFile(dir: string, child: ChildProcess): Promise<number> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`nats-server exited with ${child.exitCode}`);
    const file = existsSync(dir) ? readdirSync(dir).find((f) => f.endsWith(".ports")) : undefined;
    if (file) {
      const ports = JSON.parse(readFileSync(join(dir, file), "utf8")) as { nats?: string[] };
      const url = ports.nats?.[0];
      if (url) return Number(new URL(url).port);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error("nats-server did not report its port in 15 s");
}

async function waitForListen(port: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, "127.0.0.1", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`nats-server did not listen on ${port}`);
}

/**
 * The server is in a process group of its own, so nothing stops it if this process dies
 * without its exit handlers (SIGKILL). A shell holding a pipe from this process stops it
 * then: `read` returns at the pipe's end, whatever way this process ended.
 */
function watchOver(server: ChildProcess): void {
  const watchdog = spawn("sh", ["-c", 'read _; kill -TERM "$1" 2>/dev/null', "nats-watchdog", String(server.pid)], {
    stdio: ["pipe", "ignore", "ignore"],
    detached: true,
  });
  if (watchdog.stdin instanceof Socket) watchdog.stdin.unref();
  watchdog.unref();
  server.once("exit", () => watchdog.kill("SIGKILL"));
}

/**
 * Starts `nats-server -js` on 127.0.0.1 with a free port (reported through --ports_file_dir).
 * The server runs in its own process group: a Ctrl-C in the terminal (SIGINT to the whole
 * foreground group) does not reach it, so whoever started it can stop its clients first and
 * it last. It is killed when this process exits, whatever the reason.
 */
export async function startNatsServer(opts: NatsServerOptions = {}): Promise<NatsServer> {
  if (!existsSync(natsServerBinary)) {
    throw new Error(`${natsServerBinary} not found: install it with "apt-get install nats-server" (Debian package)`);
  }
  const dir = mkdtempSync(join(tmpdir(), "messenger-nats-"));
  const store = opts.storeDir ?? join(dir, "js");
  mkdirSync(store, { recursive: true });
  const portsDir = join(dir, "ports");
  mkdirSync(portsDir);
  const launch = (port: number): ChildProcess => {
    const server = spawn(natsServerBinary, ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", store, "--ports_file_dir", portsDir], { stdio: "ignore", detached: true });
    if (server.pid !== undefined) watchOver(server);
    return server;
  };
  let child = launch(-1);
  process.once("exit", () => child.kill("SIGKILL"));
  const port = await waitForPortsFile(portsDir, child);
  await waitForListen(port);
  const exit = async (signal: NodeJS.Signals): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const done = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill(signal);
    await done;
  };
  return {
    port,
    url: `nats://127.0.0.1:${port}`,
    get pid() {
      return child.pid;
    },
    kill: () => exit("SIGKILL"),
    async restart() {
      await exit("SIGTERM");
      child = launch(port);
      await waitForListen(port);
    },
    async stop() {
      await exit("SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
