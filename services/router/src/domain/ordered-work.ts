/**
 * Runs jobs whose slow part (lookups) may overlap but whose effects (publishes) must happen
 * in the order the jobs were added: each job's `prepare` starts at once, its `commit` runs
 * only after every earlier job's commit. A failed job is reported and does not hold back the
 * ones after it.
 */
export class OrderedWork {
  private tail: Promise<void> = Promise.resolve();
  private pending = 0;

  constructor(private readonly onError: (err: unknown) => void) {}

  /** Jobs added and not finished. */
  get size(): number {
    return this.pending;
  }

  add<T>(prepare: () => Promise<T>, commit: (prepared: T) => void): void {
    this.pending++;
    const prepared = prepare();
    // Observed here so a rejection is never unhandled while it waits its turn.
    prepared.catch(() => undefined);
    this.tail = this.tail.then(async () => {
      try {
        commit(await prepared);
      } catch (err) {
        this.onError(err);
      } finally {
        this.pending--;
      }
    });
  }

  /** Resolves once every job added so far has finished. */
  idle(): Promise<void> {
    return this.tail;
  }
}
