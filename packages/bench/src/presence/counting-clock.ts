import type { Clock } from "@messenger/presence";

/**
 * Wall-clock time whose timers are counted: presence opens one timer per announcement
 * window, so `pending === 0` says no window is open any more and nothing is held. The bench
 * waits on that instead of sleeping "long enough" after the last change.
 */
export class CountingClock implements Clock {
  private open = 0;

  /** Timers set and neither fired nor cancelled yet. */
  get pending(): number {
    return this.open;
  }

  now(): number {
    return Date.now();
  }

  setTimer(fn: () => void, ms: number): () => void {
    this.open++;
    let settled = false;
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      this.open--;
      return true;
    };
    const t = setTimeout(() => {
      if (settle()) fn();
    }, ms);
    t.unref();
    return () => {
      if (settle()) clearTimeout(t);
    };
  }
}
