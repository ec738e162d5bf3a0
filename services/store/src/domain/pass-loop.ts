/**
 * Runs `pass` with a limit of `batch` per pass, passes `intervalMs` apart (and at once again
 * while a pass was cut short by its batch). One pass at a time; stop() waits for the one
 * running. The retention sweeper and the archiver are such loops.
 */
export function startPassLoop<T extends { readonly more: boolean }>(
  pass: (now: number, limit: number) => Promise<T>,
  opts: { intervalMs: number; batch: number; now: () => number; events?: { swept(result: T): void }; onError: (err: unknown) => void },
): { runOnce(at?: number): Promise<T>; stop(): Promise<void> } {
  let running: Promise<unknown> | undefined;
  let stopped = false;
  const runOnce = async (at?: number): Promise<T> => {
    const d = await pass(at ?? opts.now(), opts.batch);
    opts.events?.swept(d);
    return d;
  };
  const tick = (): void => {
    if (running || stopped) return;
    running = (async () => {
      for (let d = await runOnce(); d.more && !stopped; d = await runOnce()) {
        // Another batch at once: the limit cut this one short.
      }
    })()
      .catch(opts.onError)
      .finally(() => (running = undefined));
  };
  const timer = opts.intervalMs > 0 ? setInterval(tick, opts.intervalMs) : undefined;
  timer?.unref();
  return {
    runOnce,
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      await running;
    },
  };
}
