/** A client that has not repeated the send heading the queue for this long has given it up. */
export const defaultOrderHoldMs = 60_000;

/**
 * The per-session queue of sends refused to keep a device's order. When a send fails with
 * a retryable code it heads the queue; later sends are refused and join it, in the order
 * they first came; a send is taken again only when it is the queue's head, so whatever the
 * client repeats and in whatever order, a later send is never stored before an earlier one.
 *
 * Memory is bounded: the queue remembers at most `limit` sends (ids only; a refused send's
 * body is never held). A send refused while the queue is full cannot be remembered, and a
 * client that interleaves new sends with its repeats would then get its order back from
 * the client alone: `saturated` says so, and the session asks the client to reconnect and
 * repeat its sends in order on a fresh stream (a go_away, not an error). The SDK never
 * gets there: while a send is refused it repeats only that one.
 *
 * A client that does not repeat the head for `holdMs` while it sends others has given it
 * up (or holds it as stored: a second copy of a stored send can fail too): the queue is
 * forgotten rather than the session wedged. Nothing is stored out of order by that: the
 * forgotten send is stored only if the client sends it again, after the later ones, by its
 * own choice.
 */
export class SendOrder {
  /** The remembered sends in the order they must be taken (a Set keeps insertion order). */
  private queue = new Set<string>();
  /** When the head last failed or became the head. */
  private headSince = 0;
  /** A send was refused while the queue was full (it was not remembered). */
  saturated = false;

  constructor(
    private readonly limit: number,
    private readonly holdMs = defaultOrderHoldMs,
    private readonly now: () => number = Date.now,
  ) {}

  /** Sends waiting to be repeated (remembered ones). */
  get size(): number {
    return this.queue.size;
  }

  /**
   * Returns undefined when this send may be processed now (and takes it off the queue), or
   * the id of the send that must be repeated first.
   */
  admit(clientMessageId: string): string | undefined {
    const first = this.first();
    if (first === undefined) return undefined;
    if (first === clientMessageId) {
      this.queue.delete(first);
      this.headSince = this.now();
      return undefined;
    }
    if (this.now() - this.headSince > this.holdMs) {
      this.queue.clear();
      return undefined;
    }
    if (this.queue.has(clientMessageId)) return first;
    if (this.queue.size < this.limit) this.queue.add(clientMessageId);
    else this.saturated = true;
    return first;
  }

  /**
   * Sends of one batch failed with a retryable code (the first failure and every send behind
   * it in the batch, in batch order): they go back to the head, in that order, ahead of what
   * was already waiting (which came after them). A copy of one of them waiting further back
   * (a client may send one id twice) moves up with it.
   */
  failed(clientMessageIds: readonly string[]): void {
    this.headSince = this.now();
    for (const id of clientMessageIds) this.queue.delete(id);
    this.queue = new Set([...clientMessageIds, ...this.queue]);
  }

  /**
   * A send was stored, or refused for what it is: it will not be repeated, so a copy of it
   * waiting in the queue must not hold the others back.
   */
  settled(clientMessageId: string): void {
    if (this.queue.size === 0 || !this.queue.delete(clientMessageId)) return;
    this.headSince = this.now();
  }

  private first(): string | undefined {
    if (this.queue.size === 0) return undefined;
    return this.queue.values().next().value;
  }
}
