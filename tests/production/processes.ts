import { spawn, type ChildProcess } from "node:child_process";

/** A finished command: its exit code and output. */
export interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Who a child process runs as: root starts it with another uid, as a container's USER does. */
export interface Identity {
  readonly uid?: number;
  readonly gid?: number;
}

interface RunOptions extends Identity {
  readonly cwd: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly timeoutMs?: number;
}

/** Runs a command to its end, collecting its output; kills it past `timeoutMs`. */
export function run(command: string, args: string[], opts: RunOptions): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ["ignore", "pipe", "pipe"], uid: opts.uid, gid: opts.gid });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${command} ${args.join(" ")} took over ${opts.timeoutMs} ms:\n${stdout}\n${stderr}`));
    }, opts.timeoutMs ?? 60_000);
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A long-running command that printed its gRPC and HTTP ports (standalone's start line). */
export interface Server {
  readonly child: ChildProcess;
  readonly grpcUrl: string;
  readonly httpPort: number;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  /** SIGTERM, then its exit code once it is gone (null: killed by a signal). */
  stop(): Promise<number | null>;
}

/**
 * Starts a command that prints `gRPC on HOST:PORT, Connect/gRPC-Web on http://HOST:PORT`
 * (standalone's start line, GRPC_PORT=0 and HTTP_PORT=0 giving free ports) and resolves once
 * it has; rejects with its stderr if it exits first or says nothing within `timeoutMs`.
 */
export function startServer(command: string, args: string[], opts: RunOptions): Promise<Server> {
  const child = spawn(command, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ["ignore", "pipe", "pipe"], uid: opts.uid, gid: opts.gid });
  // A test runner that dies does not leave the server behind.
  const killOnExit = (): void => void child.kill("SIGKILL");
  process.once("exit", killOnExit);
  child.once("exit", () => process.removeListener("exit", killOnExit));
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${command} ${args.join(" ")} did not start in ${opts.timeoutMs} ms:\n${stdout}\n${stderr}`));
    }, opts.timeoutMs ?? 60_000);
    const onData = (): void => {
      const m = /gRPC on [^:\s]+:(\d+), Connect\/gRPC-Web on http:\/\/[^:\s]+:(\d+)/.exec(stdout);
      if (!m) return;
      clearTimeout(timer);
      child.stdout.off("data", onData);
      resolve({
        child,
        grpcUrl: `http://127.0.0.1:${m[1]}`,
        httpPort: Number(m[2]),
        stderr: () => stderr,
        stop: () => {
          if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
          return exited;
        },
      });
    };
    child.stdout.on("data", onData);
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${command} ${args.join(" ")} exited (${code ?? signal}) before it started:\n${stdout}\n${stderr}`));
    });
  });
}
