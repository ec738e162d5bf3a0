import type { SetTimer } from "./retry-loop.js";

/** Timers that fire only when told to, for deterministic tests of timed loops. */
export class ManualTimer {
  private timers: { fn: () => void; ms: number }[] = [];

  readonly setTimer: SetTimer = (fn, ms) => {
    const timer = { fn, ms };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  };

  /** The waits of the timers set and neither fired nor cancelled, oldest first. */
  waits(): number[] {
    return this.timers.map((t) => t.ms);
  }

  /** Fires the timers set so far, whatever their wait (not those they set in turn). */
  fire(): void {
    const due = this.timers;
    this.timers = [];
    for (const t of due) t.fn();
  }
}
