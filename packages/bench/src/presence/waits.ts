/** Resolves after every microtask queued so far has run (the in-process bus delivers on microtasks). */
export const nextMacrotask = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Resolves at `at` (performance.now() time), at once if it has passed. */
export const sleepUntil = (at: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, at - performance.now())));

/** Polls `done` every few ms; throws after `timeoutMs` saying what did not happen. */
export async function until(done: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > deadline) throw new Error(`presence bench: timed out waiting for ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * Resolves once the tracker is drained: no announcement window open (nothing held), every
 * send finished, every delivery handled.
 */
export async function drained(tracker: { idle(): Promise<void> }, clock: { readonly pending: number }, announceWindowMs: number): Promise<void> {
  await until(
    () => clock.pending === 0,
    announceWindowMs * 3 + 60_000,
    () => `${clock.pending} announcement windows to close`,
  );
  await tracker.idle();
  await nextMacrotask();
}
