import pLimit, { type LimitFunction } from "p-limit";

/** The queue already holds maxQueued jobs; the caller should answer "try later" (RESOURCE_EXHAUSTED). */
export class ProcessingQueueFullError extends Error {
  override readonly name = "ProcessingQueueFullError";
  constructor(readonly maxQueued: number) {
    super(`processing queue is full (${maxQueued} waiting)`);
  }
}

/**
 * Runs CPU-heavy jobs at most `concurrency` at a time with at most `maxQueued` waiting behind
 * them; one more is refused at once rather than piling up memory and latency.
 */
export class ProcessingQueue {
  readonly #limit: LimitFunction;
  readonly #maxQueued: number;

  constructor(opts: { concurrency: number; maxQueued: number }) {
    if (!Number.isInteger(opts.maxQueued) || opts.maxQueued < 0) throw new RangeError("maxQueued must be a non-negative integer");
    this.#limit = pLimit(opts.concurrency);
    this.#maxQueued = opts.maxQueued;
  }

  /** Runs `work` when a slot frees; rejects with ProcessingQueueFullError, synchronously settled, when the queue is full. */
  run<T>(work: () => Promise<T>): Promise<T> {
    // p-limit 7 takes a slot synchronously when one is free, so pendingCount is exactly the
    // jobs waiting behind full slots.
    if (this.#limit.activeCount >= this.#limit.concurrency && this.#limit.pendingCount >= this.#maxQueued) {
      return Promise.reject(new ProcessingQueueFullError(this.#maxQueued));
    }
    return this.#limit(work);
  }

  /** Jobs running now. */
  get active(): number {
    return this.#limit.activeCount;
  }

  /** Jobs waiting for a slot. */
  get queued(): number {
    return this.#limit.pendingCount;
  }
}
