import type { Worker } from "node:worker_threads";
import { DomainError } from "../domain/errors.js";
import { limits } from "../domain/limits.js";
import type { AppendOutcome } from "./history-repository.js";
import { siblingModule, startModuleWorker } from "./module-worker.js";
import type { WriterReply, WriterRequest } from "./sqlite-writer-worker.js";
import type { RowsWritten, WriteOp, WriteResults } from "./sqlite-writes.js";

interface Job {
  readonly op: WriteOp;
  resolve(value: unknown): void;
  reject(err: Error): void;
}

/**
 * The store thread's side of the history writer thread: pipelined group commit. Writes that
 * arrive while a batch is being committed wait and go together as the next batch, so the
 * batch grows with the load and one fsync covers all of it. Batches commit one at a time, in
 * the order their writes were made; every caller is answered only after its batch is durable.
 */
export class SqliteWriter {
  private worker: Worker;
  private waiting: Job[] = [];
  private inFlight: Job[] | undefined;
  private scheduled = false;
  private batch = 0;
  private closed = false;
  private ready = false;
  private broken: Error | undefined;
  private idle: (() => void)[] = [];

  constructor(
    private readonly path: string,
    /** Told the rows each committed batch wrote, by kind of write, and how many new messages it stored. */
    private readonly onCommitted: (rows: RowsWritten, messagesStored: number) => void = () => {},
    private readonly largeGroupThreshold: number = limits.defaultLargeGroupThreshold,
  ) {
    this.worker = this.start();
  }

  write<K extends WriteOp["kind"]>(op: Extract<WriteOp, { kind: K }>): Promise<WriteResults[K]> {
    if (this.closed) return Promise.reject(new Error("history store is closed"));
    if (this.broken) return Promise.reject(this.broken);
    return new Promise((resolve, reject) => {
      this.waiting.push({ op, resolve: resolve as (v: unknown) => void, reject });
      // Writes made in the same event-loop turn share a batch.
      if (!this.inFlight && !this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.dispatch();
        });
      }
    });
  }

  /** Commits what is waiting, then stops the writer thread. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.dispatch();
    if (this.inFlight) await new Promise<void>((r) => this.idle.push(r));
    this.closed = true;
    // A broken writer's thread is already gone.
    if (this.broken) return;
    const exited = new Promise((r) => this.worker.once("exit", r));
    // Held until the thread is gone: an unref'd thread alone would let the process exit
    // while close() is still pending.
    this.worker.ref();
    this.worker.postMessage({ kind: "close" } satisfies WriterRequest);
    await exited;
  }

  private dispatch(): void {
    if (this.inFlight) return;
    if (this.waiting.length === 0) {
      for (const r of this.idle.splice(0)) r();
      return;
    }
    this.inFlight = this.waiting;
    this.waiting = [];
    this.worker.ref();
    this.worker.postMessage({ kind: "commit", batch: ++this.batch, ops: this.inFlight.map((j) => j.op) } satisfies WriterRequest);
  }

  private start(): Worker {
    const worker = startModuleWorker(siblingModule("sqlite-writer-worker", import.meta.url), { path: this.path, largeGroupThreshold: this.largeGroupThreshold });
    worker.unref();
    worker.on("message", (reply: WriterReply) => {
      if (reply.kind === "ready") this.ready = true;
      if (reply.kind !== "committed" || reply.batch !== this.batch || !this.inFlight) return;
      const jobs = this.inFlight;
      this.inFlight = undefined;
      worker.unref();
      let stored = 0;
      reply.outcomes.forEach((o, i) => {
        if (o.ok && jobs[i]!.op.kind === "append") for (const a of o.value as AppendOutcome[]) if (a.ok && !a.duplicate) stored++;
      });
      this.onCommitted(reply.rows, stored);
      reply.outcomes.forEach((o, i) => {
        if (o.ok) jobs[i]!.resolve(o.value);
        else jobs[i]!.reject(o.kind ? new DomainError(o.kind, o.message) : new Error(o.message));
      });
      this.dispatch();
    });
    worker.on("error", (err) => this.lost(err));
    worker.on("messageerror", (err) => this.lost(err));
    worker.on("exit", (code) => this.lost(new Error(`history writer thread exited with code ${code}`)));
    return worker;
  }

  /**
   * The writer thread died. Whether the batch it held was committed is unknown, so its
   * callers get an error (a resend with the same client message id is idempotent); writes
   * not yet sent go to a fresh writer thread.
   */
  private lost(err: unknown): void {
    if (this.closed) return;
    // An error thrown in the thread may arrive as a plain object (its class does not cross).
    const message = typeof err === "object" && err !== null && "message" in err ? (err as { message: unknown }).message : undefined;
    const why = typeof message === "string" ? message : String(err);
    const jobs = this.inFlight ?? [];
    this.inFlight = undefined;
    this.worker.removeAllListeners();
    void this.worker.terminate();
    if (!this.ready) {
      // It could not even open the file, so nothing was committed, and another thread would
      // fail the same way.
      this.broken = new Error(`history writer cannot start: ${why}`);
      for (const j of [...jobs, ...this.waiting.splice(0)]) j.reject(this.broken);
      for (const r of this.idle.splice(0)) r();
      return;
    }
    for (const j of jobs) j.reject(new Error(`history write outcome unknown: ${why}`));
    this.ready = false;
    this.worker = this.start();
    this.dispatch();
  }
}
