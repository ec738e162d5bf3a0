import type { Message } from "@messenger/proto/chat/v1/types";

/**
 * Puts one conversation's messages in seq order for the app: drops what it already
 * emitted, holds back what arrives ahead of a gap, and says which seqs are missing so the
 * client can fetch them.
 */
export class ConversationOrder {
  private readonly ahead = new Map<bigint, Message>();

  /** @param cursor the highest seq already emitted (contiguous from 1), or undefined if none is known yet */
  constructor(public cursor: bigint | undefined) {}

  /** Accepts a message; returns the messages now ready to emit, in order. */
  accept(m: Message): Message[] {
    if (this.cursor === undefined) this.cursor = m.seq - 1n;
    if (m.seq <= this.cursor) return [];
    this.ahead.set(m.seq, m);
    const ready: Message[] = [];
    for (let next = this.ahead.get(this.cursor + 1n); next; next = this.ahead.get(this.cursor + 1n)) {
      this.ahead.delete(next.seq);
      this.cursor = next.seq;
      ready.push(next);
    }
    return ready;
  }

  /** True when `seq` was already emitted or is already held. */
  has(seq: bigint): boolean {
    return (this.cursor !== undefined && seq <= this.cursor) || this.ahead.has(seq);
  }

  /** The missing range [from, to] before the earliest held message, if any. */
  gap(): { from: bigint; to: bigint } | undefined {
    if (this.ahead.size === 0 || this.cursor === undefined) return undefined;
    let lowest: bigint | undefined;
    for (const s of this.ahead.keys()) if (lowest === undefined || s < lowest) lowest = s;
    return lowest !== undefined && lowest > this.cursor + 1n ? { from: this.cursor + 1n, to: lowest - 1n } : undefined;
  }

  /** Skips ahead (after a reset): everything up to seq counts as handled by a reload. */
  resetTo(seq: bigint): void {
    this.cursor = seq;
    for (const s of [...this.ahead.keys()]) if (s <= seq) this.ahead.delete(s);
  }
}
