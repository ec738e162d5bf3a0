import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

/** A request to a worker and its reply, over the IPC channel. */
export interface WorkerReply {
  readonly id: number;
  readonly result?: unknown;
  readonly error?: string;
}

/**
 * A load generator in its own process (so it never shares an event loop or a core's time
 * accounting with the server it measures), driven by request/reply over IPC.
 */
export class WorkerProcess {
  private next = 0;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();

  private constructor(readonly name: string, readonly child: ChildProcess) {
    child.on("message", (m: WorkerReply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.error !== undefined) p.reject(new Error(`${name}: ${m.error}`));
      else p.resolve(m.result);
    });
    child.once("exit", (code) => {
      for (const p of this.pending.values()) p.reject(new Error(`${name} exited with ${code}`));
      this.pending.clear();
    });
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  /** Starts `workers/<file>.ts` in a new node process with the tsx loader. */
  static start(name: string, file: string, execArgv: string[] = []): WorkerProcess {
    const path = fileURLToPath(new URL(`./workers/${file}.ts`, import.meta.url));
    const child = fork(path, [], { execArgv: ["--import", "tsx", ...execArgv], stdio: ["ignore", "inherit", "inherit", "ipc"] });
    return new WorkerProcess(name, child);
  }

  request<T>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ id, cmd, ...args });
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once("exit", r));
    this.child.kill("SIGTERM");
    await exited;
  }
}

/** The worker side: answers requests with the given handlers. */
export function serveWorker(handlers: Record<string, (args: Record<string, unknown>) => Promise<unknown>>): void {
  process.on("message", (m: { id: number; cmd: string } & Record<string, unknown>) => {
    const h = handlers[m.cmd];
    if (!h) {
      process.send?.({ id: m.id, error: `unknown command ${m.cmd}` });
      return;
    }
    h(m).then(
      (result) => process.send?.({ id: m.id, result }),
      (err: unknown) => process.send?.({ id: m.id, error: err instanceof Error ? err.stack ?? err.message : String(err) }),
    );
  });
  process.on("SIGTERM", () => process.exit(0));
  process.on("disconnect", () => process.exit(0));
}
