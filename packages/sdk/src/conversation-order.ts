import type { Message } from "@messenger/proto/chat/v1/types";

/** The parts of a ListMessages answer that the order needs. */
export interface HistoryPage {
  readonly messages: readonly Message[];
  readonly hasMore: boolean;
  /** The newest seq the reader may see. */
  readonly lastSeq: bigint;
  /** Nothing below it exists. */
  readonly minSeq: bigint;
}

/** Messages a conversation holds ahead of a gap, at most (past it the highest are read again from history). */
export const defaultMaxAhead = 1000;

/**
 * Puts one conversation's messages in seq order for the app: drops what it already
 * emitted, holds back what arrives ahead of a gap, and says which seqs are missing so the
 * client can fetch them.
 *
 * A seq the user may not see (outside their membership ranges in a group) or that no longer
 * exists (below the conversation's min_seq) is never emitted: history says which, and
 * `skipTo` / `acceptPage` / `setMinSeq` move the cursor over them, so such a gap is closed
 * instead of being chased forever.
 *
 * What it holds is bounded: at most `maxAhead` messages wait ahead of a gap. Past that the
 * highest are let go and only the highest seq seen is kept, so `gap()` still reaches up to
 * it and the client reads them again from history once the gap before them closes.
 */
export class ConversationOrder {
  private readonly ahead = new Map<bigint, Message>();
  private floor = 0n;
  /** The highest seq offered above the cursor, held or let go. */
  private highest = 0n;

  /**
   * @param cursor the highest seq already handled (emitted or known not to be visible), or undefined if none is known yet
   * @param maxAhead the most messages held ahead of a gap
   */
  constructor(
    public cursor: bigint | undefined,
    private readonly maxAhead = defaultMaxAhead,
  ) {}

  /** Messages held ahead of a gap (at most maxAhead). */
  get held(): number {
    return this.ahead.size;
  }

  /** The conversation's min_seq as last seen: nothing below it exists; 0 when nothing was deleted. */
  get minSeq(): bigint {
    return this.floor;
  }

  /** Accepts a message; returns the messages now ready to emit, in order. */
  accept(m: Message): Message[] {
    if (this.cursor === undefined) this.cursor = m.seq - 1n;
    if (m.seq <= this.cursor) return [];
    if (m.seq > this.highest) this.highest = m.seq;
    this.hold(m);
    return this.release();
  }

  /**
   * Accepts one page of history read forward from `anchor` (exclusive). History is
   * authoritative: a seq above the anchor and below a returned message that the page left
   * out is not visible to this user, so the cursor moves over it. `invisibleThrough`, when
   * given, says every seq up to it that the page did not return is invisible too (a last
   * page, has_more false). Returns the messages now ready to emit, in order.
   */
  acceptPage(anchor: bigint, messages: readonly Message[], invisibleThrough?: bigint): Message[] {
    if (this.cursor === undefined) this.cursor = anchor;
    // A page that starts above the cursor says nothing about the seqs between them.
    const covers = anchor <= this.cursor;
    const ready: Message[] = [];
    for (const m of messages) {
      if (m.seq <= anchor) continue;
      if (covers) ready.push(...this.skipTo(m.seq - 1n));
      ready.push(...this.accept(m));
    }
    if (covers && invisibleThrough !== undefined) ready.push(...this.skipTo(invisibleThrough));
    return ready;
  }

  /**
   * Accepts a forward page of ListMessages read from `anchor`, wanted up to `through` (a
   * gap's end, or the conversation's known last seq). Besides what `acceptPage` infers, a
   * last page (has_more false) whose last_seq reaches `through` means every seq up to
   * `through` that it did not return is invisible too. A page whose last_seq falls short
   * (history lagging behind the live stream) closes nothing beyond what it returned.
   */
  acceptHistory(anchor: bigint, page: HistoryPage, through: bigint): Message[] {
    const ready = this.setMinSeq(page.minSeq);
    const complete = !page.hasMore && page.lastSeq >= through;
    ready.push(...this.acceptPage(anchor, page.messages, complete ? through : undefined));
    return ready;
  }

  /**
   * Declares every seq up to `seq` that is not held as one this user will never get, and
   * moves the cursor there. Held messages at or below it are still emitted (a message in
   * hand is never dropped), then whatever follows contiguously. Returns them, in order.
   */
  skipTo(seq: bigint): Message[] {
    if (this.cursor === undefined || seq <= this.cursor) return [];
    const ready: Message[] = [];
    for (const s of [...this.ahead.keys()].filter((k) => k <= seq).sort(compare)) {
      ready.push(this.ahead.get(s)!);
      this.ahead.delete(s);
    }
    this.cursor = seq;
    ready.push(...this.release());
    return ready;
  }

  /**
   * Records the conversation's min_seq: seqs below it were deleted (retention, archive), so a
   * cursor below it moves up to it and nothing below it is ever asked for. Returns the
   * messages this releases, in order.
   */
  setMinSeq(minSeq: bigint): Message[] {
    if (minSeq > this.floor) this.floor = minSeq;
    return this.floor > 0n ? this.skipTo(this.floor - 1n) : [];
  }

  /** True when `seq` was already handled or is already held. */
  has(seq: bigint): boolean {
    return (this.cursor !== undefined && seq <= this.cursor) || this.ahead.has(seq);
  }

  /**
   * The missing range [from, to] before the earliest held message, or up to the highest seq
   * seen when nothing is held (messages let go past maxAhead); never below min_seq.
   */
  gap(): { from: bigint; to: bigint } | undefined {
    if (this.cursor === undefined) return undefined;
    let lowest: bigint | undefined;
    for (const s of this.ahead.keys()) if (lowest === undefined || s < lowest) lowest = s;
    const from = this.cursor + 1n > this.floor ? this.cursor + 1n : this.floor;
    const to = lowest !== undefined ? lowest - 1n : this.highest;
    return to >= from ? { from, to } : undefined;
  }

  /** Skips ahead (after a reset): everything up to seq counts as handled by a reload. */
  resetTo(seq: bigint): void {
    this.cursor = seq;
    for (const s of [...this.ahead.keys()]) if (s <= seq) this.ahead.delete(s);
  }

  /** Holds a message ahead of the cursor; when full, the highest held (or this one) is let go. */
  private hold(m: Message): void {
    if (this.ahead.has(m.seq) || this.ahead.size < this.maxAhead) {
      this.ahead.set(m.seq, m);
      return;
    }
    let top = m.seq;
    for (const s of this.ahead.keys()) if (s > top) top = s;
    if (top === m.seq) return;
    this.ahead.delete(top);
    this.ahead.set(m.seq, m);
  }

  /** Emits held messages that follow the cursor contiguously. */
  private release(): Message[] {
    const ready: Message[] = [];
    for (let next = this.ahead.get(this.cursor! + 1n); next; next = this.ahead.get(this.cursor! + 1n)) {
      this.ahead.delete(next.seq);
      this.cursor = next.seq;
      ready.push(next);
    }
    return ready;
  }
}

function compare(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
