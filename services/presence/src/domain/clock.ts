/**
 * Time as presence sees it: last-seen stamps and the announcement windows. Injected so tests
 * move time by hand instead of sleeping.
 */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Runs `fn` once, `ms` from now; the returned function cancels it. */
  setTimer(fn: () => void, ms: number): () => void;
}

/** Wall-clock time and Node timers; a pending timer never keeps the process alive. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    // A window that ended while its record was being read comes out negative: run it now.
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref();
    return () => clearTimeout(t);
  },
};
