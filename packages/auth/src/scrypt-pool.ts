import type { ScryptOptions } from "node:crypto";
import { Worker } from "node:worker_threads";

/**
 * Refused because the queue of waiting hashes is full. `retryAfterMs` estimates when the
 * hashes queued now will have been done.
 */
export class HashQueueFullError extends Error {
  override readonly name = "HashQueueFullError";
  constructor(readonly retryAfterMs: number) {
    super(`password hashing queue is full; try again in ${retryAfterMs} ms`);
  }
}

/** Told how the pool is doing, for metrics. */
export interface ScryptPoolObserver {
  /** After every change: hashes waiting for a thread, hashes running. */
  onDepth?(waiting: number, running: number): void;
  /** A hash refused because the queue was full. */
  onRefused?(): void;
  /** A hash finished (or scrypt refused its parameters) after `seconds` on its thread. */
  onDone?(seconds: number): void;
}

/** Sizes of the pool. */
export interface ScryptPoolOptions {
  /** Threads hashing at once (each holds 128 × N × r bytes while it hashes). */
  readonly threads: number;
  /** Hashes that may wait for a thread; one more is refused with HashQueueFullError. */
  readonly queueLimit: number;
  readonly observer?: ScryptPoolObserver;
}

interface Job {
  readonly password: string;
  readonly salt: Uint8Array;
  readonly keylen: number;
  readonly options: ScryptOptions;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: () => void;
  resolve(key: Buffer): void;
  reject(err: unknown): void;
}

interface Reply {
  readonly key?: Uint8Array;
  readonly error?: string;
  readonly ms: number;
}

interface Thread {
  readonly worker: Worker;
  job: Job | undefined;
}

// The thread runs scryptSync: the async scrypt would hand the work to libuv's shared thread
// pool again, where token signing and verification (WebCrypto), file I/O and DNS lookups
// wait behind it. Plain CommonJS, evaluated: it needs no loader in source or built form.
const threadSource = `
const { parentPort } = require("node:worker_threads");
const { scryptSync } = require("node:crypto");
parentPort.on("message", (m) => {
  const t0 = performance.now();
  try {
    const key = scryptSync(m.password, m.salt, m.keylen, m.options);
    parentPort.postMessage({ key, ms: performance.now() - t0 });
  } catch (err) {
    parentPort.postMessage({ error: String(err && err.message || err), ms: performance.now() - t0 });
  }
});
`;

/** Before any hash has been timed, the guess behind a retry delay. */
const firstGuessMs = 1_000;

/**
 * scrypt on a few dedicated worker threads with a bounded FIFO queue. Password hashing is
 * the most expensive thing a caller can ask for (128 MiB and about a second of a core at
 * the default cost), so at most `threads` run at once, at most `queueLimit` wait, and the
 * rest are refused at once rather than piling up: whatever else the process does (token
 * checks, every other RPC) never waits behind them. A queued hash whose caller gave up
 * (its signal aborted) is dropped without being computed.
 */
export class ScryptPool {
  private readonly threads: Thread[] = [];
  private readonly waiting: Job[] = [];
  private running = 0;
  private averageMs = 0;
  private closed = false;

  constructor(private readonly opts: ScryptPoolOptions) {
    if (opts.threads < 1 || opts.queueLimit < 0) throw new Error("a scrypt pool needs at least one thread and a queue limit of 0 or more");
  }

  /** Hashes waiting for a thread. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Hashes being computed. */
  get inProgress(): number {
    return this.running;
  }

  /** Derives a key with scrypt on a pool thread; rejects with HashQueueFullError when full. */
  derive(password: string, salt: Uint8Array, keylen: number, options: ScryptOptions, signal?: AbortSignal): Promise<Buffer> {
    if (this.closed) return Promise.reject(new Error("the password hashing pool is closed"));
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.running >= this.opts.threads && this.waiting.length >= this.opts.queueLimit) {
      this.opts.observer?.onRefused?.();
      return Promise.reject(new HashQueueFullError(this.drainEstimateMs()));
    }
    return new Promise<Buffer>((resolve, reject) => {
      const job: Job = {
        password,
        salt,
        keylen,
        options,
        signal,
        onAbort: () => {
          const i = this.waiting.indexOf(job);
          if (i < 0) return;
          this.waiting.splice(i, 1);
          this.depthChanged();
          reject(signal!.reason);
        },
        resolve,
        reject,
      };
      signal?.addEventListener("abort", job.onAbort, { once: true });
      this.waiting.push(job);
      this.dispatch();
    });
  }

  /** Stops the threads; hashes waiting or running are rejected. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const gone = new Error("the password hashing pool is closed");
    for (const job of this.waiting.splice(0)) this.settle(job, gone);
    const threads = this.threads.splice(0);
    for (const t of threads) if (t.job) this.settle(t.job, gone);
    await Promise.all(threads.map((t) => t.worker.terminate()));
  }

  /** Time until what is queued and running now is done, by the average hash so far. */
  private drainEstimateMs(): number {
    const rounds = Math.ceil((this.waiting.length + this.running) / this.opts.threads);
    return Math.max(1, Math.ceil(rounds * (this.averageMs || firstGuessMs)));
  }

  private dispatch(): void {
    while (this.waiting.length > 0 && this.running < this.opts.threads) {
      const job = this.waiting.shift()!;
      job.signal?.removeEventListener("abort", job.onAbort);
      const thread = this.threads.find((t) => !t.job) ?? this.spawn();
      thread.job = job;
      this.running++;
      thread.worker.ref();
      thread.worker.postMessage({ password: job.password, salt: job.salt, keylen: job.keylen, options: job.options });
    }
    this.depthChanged();
  }

  private spawn(): Thread {
    const worker = new Worker(threadSource, { eval: true });
    const thread: Thread = { worker, job: undefined };
    // An idle thread must not keep the process alive; a busy one is ref'd while it works.
    worker.unref();
    worker.on("message", (reply: Reply) => {
      const job = thread.job;
      if (!job) return;
      this.finished(thread, reply.ms);
      if (reply.key) job.resolve(Buffer.from(reply.key.buffer, reply.key.byteOffset, reply.key.byteLength));
      else job.reject(new Error(`scrypt failed: ${reply.error ?? "no key"}`));
      this.dispatch();
    });
    // A thread that dies (out of memory, say) fails its hash only; a new one takes its place.
    const lost = (err: unknown): void => {
      const i = this.threads.indexOf(thread);
      if (i < 0) return;
      this.threads.splice(i, 1);
      const job = thread.job;
      if (job) {
        this.finished(thread, 0);
        job.reject(new Error("the password hashing thread stopped", { cause: err }));
      }
      if (!this.closed) this.dispatch();
    };
    worker.on("error", lost);
    worker.on("exit", (code) => lost(new Error(`exit code ${code}`)));
    this.threads.push(thread);
    return thread;
  }

  private finished(thread: Thread, ms: number): void {
    thread.job = undefined;
    this.running--;
    thread.worker.unref();
    // A thread lost mid-hash (ms 0) says nothing about how long hashes take.
    if (ms <= 0) return;
    this.averageMs = this.averageMs ? 0.8 * this.averageMs + 0.2 * ms : ms;
    this.opts.observer?.onDone?.(ms / 1000);
  }

  private settle(job: Job, err: unknown): void {
    job.signal?.removeEventListener("abort", job.onAbort);
    job.reject(err);
  }

  private depthChanged(): void {
    this.opts.observer?.onDepth?.(this.waiting.length, this.running);
  }
}
