/**
 * Runs the changes of one pair of users, and the pushes of the pair's outbox entries to the
 * message store, one after another. A change reads the pair, writes it and pushes what it
 * queued; two changes of the same pair interleaving there (a Block and an Accept, two
 * crossing requests) could push an older state after a newer one or leave both requests
 * pending. This serializes them within the process, which is enough for the embedded SQLite
 * adapter: one accounts process owns the file.
 */
export class PairLock {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(a: string, b: string, fn: () => Promise<T>): Promise<T> {
    const key = a < b ? `${a}\n${b}` : `${b}\n${a}`;
    const previous = this.tails.get(key);
    let release = (): void => {};
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous ? previous.then(() => mine) : mine;
    this.tails.set(key, tail);
    try {
      if (previous) await previous;
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
