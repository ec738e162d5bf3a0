/**
 * The per-session queue of sends refused to keep a device's order. When a send fails with
 * a retryable code it heads the queue; later sends are refused and join it; a send is taken
 * again only when it is the queue's head.
 */
export class SendOrder {
  private readonly queue: string[] = [];
  private readonly members = new Set<string>();

  constructor(private readonly limit: number) {}

  /** True once more sends wait than the session may hold. */
  get overflowing(): boolean {
    return this.queue.length > this.limit;
  }

  /**
   * Returns undefined when this send may be processed now (and takes it off the queue), or
   * the id of the send that must be repeated first.
   */
  admit(clientMessageId: string): string | undefined {
    const head = this.queue[0];
    if (head === undefined) return undefined;
    if (head === clientMessageId) {
      this.queue.shift();
      this.members.delete(clientMessageId);
      return undefined;
    }
    if (!this.members.has(clientMessageId)) {
      this.queue.push(clientMessageId);
      this.members.add(clientMessageId);
    }
    return head;
  }

  /** A send just failed with a retryable code: it goes back to the head. */
  failed(clientMessageId: string): void {
    if (this.members.has(clientMessageId)) return;
    this.queue.unshift(clientMessageId);
    this.members.add(clientMessageId);
  }
}
