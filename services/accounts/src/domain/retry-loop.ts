/** Runs `fn` once after `ms`; the function returned cancels it if it has not run yet. */
export type SetTimer = (fn: () => void, ms: number) => () => void;

/** Node's timers; unref'd, so a forgotten loop never keeps a process alive. */
export const systemTimer: SetTimer = (fn, ms) => {
  const t = setTimeout(fn, ms);
  t.unref();
  return () => clearTimeout(t);
};

/** How often a RetryLoop runs. */
export interface RetryTiming {
  /** The wait between passes while they succeed. */
  readonly intervalMs: number;
  /** The longest wait: each failed pass doubles the wait, up to this. */
  readonly maxIntervalMs: number;
}

export const defaultRetryTiming: RetryTiming = { intervalMs: 1_000, maxIntervalMs: 30_000 };

/**
 * Runs `pass` every intervalMs, one at a time (the next wait starts when a pass ends). After
 * a failed pass the wait doubles, up to maxIntervalMs, and a successful pass brings it back
 * to intervalMs: an outage costs one attempt per wait, not a storm.
 */
export class RetryLoop {
  private cancel: () => void = () => {};
  private current: Promise<void> = Promise.resolve();
  private waitMs: number;
  private running = false;
  /** A pass is under way: it schedules the next one when it ends, so start must not. */
  private passing = false;

  constructor(
    private readonly pass: () => Promise<void>,
    private readonly timing: RetryTiming,
    private readonly onFailure: (err: unknown, retryInMs: number) => void,
    private readonly setTimer: SetTimer = systemTimer,
  ) {
    this.waitMs = timing.intervalMs;
  }

  /**
   * Schedules the first pass, after intervalMs. Does nothing while the loop runs (a second
   * start must not make a second loop, which would double the passes). After stop it starts
   * the loop again, from intervalMs.
   */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.waitMs = this.timing.intervalMs;
    if (!this.passing) this.schedule();
  }

  /** The pass under way, or the last one: a test that fired the timer awaits it. */
  settled(): Promise<void> {
    return this.current;
  }

  /** No pass starts after this (until start); resolves once the one under way, if any, has ended. */
  async stop(): Promise<void> {
    this.running = false;
    this.cancel();
    await this.current;
  }

  private schedule(): void {
    if (!this.running) return;
    this.cancel = this.setTimer(() => {
      this.current = this.run();
    }, this.waitMs);
  }

  private async run(): Promise<void> {
    this.passing = true;
    try {
      await this.pass();
      this.waitMs = this.timing.intervalMs;
    } catch (err) {
      this.waitMs = Math.min(this.waitMs * 2, this.timing.maxIntervalMs);
      this.onFailure(err, this.waitMs);
    }
    this.passing = false;
    this.schedule();
  }
}
