import type { Message } from "@messenger/proto/chat/v1/types";

/** The shared empty collections of a feed nothing was written to yet (never written). */
const none = new Map<string, never>();
const noneSet: Set<string> = new Set();

/** Where a session's feeds put their output. */
export interface FeedOutput {
  /** A message for the client, in seq order per conversation, each once. */
  emit(message: Message): void;
  /**
   * Messages after `afterSeq` and before `beforeSeq` are missing: fetch what the user may see
   * of them and pass it to `settle`. At most one fill per conversation is asked at a time;
   * `fillEnded` says it is over (settled or failed).
   */
  requestFill(conversationId: string, afterSeq: bigint, beforeSeq: bigint): void;
}

/**
 * Puts one session's messages in seq order, per conversation, whatever order the live
 * deliveries arrive in and whichever router sent them: everything up to a conversation's
 * `delivered` seq is accounted for (sent, sent back as a send_result, or not visible to this
 * user); a message ahead of it waits, and the missing seqs are fetched from the store rather
 * than waited for forever. A seq never reaches the client twice.
 *
 * What counts as accounted for comes from the store (the resume replay and fills say "every
 * visible message up to here"), so a member's range gaps, deleted seqs and seqs sent by this
 * very session are all handled the same way.
 */
export class ConversationFeeds {
  // Made on first use: most sessions of a gateway sit idle, and an idle session is what a
  // gateway holds by the hundred thousand.
  private delivered: Map<string, bigint> = none;
  /** Per conversation, what waits ahead of a gap; null marks a seq answered by send_result. */
  private ahead: Map<string, Map<bigint, Message | null>> = none;
  private filling: Set<string> = noneSet;
  private waiting = 0;
  private holdFills = true;

  constructor(private readonly out: FeedOutput) {}

  /** Messages waiting ahead of gaps, over all conversations. */
  get backlog(): number {
    return this.waiting;
  }

  /** Every known conversation with the highest seq accounted for in it. */
  positions(): IterableIterator<[string, bigint]> {
    return this.delivered.entries();
  }

  /** The highest seq accounted for, if the conversation is known. */
  deliveredOf(conversationId: string): bigint | undefined {
    return this.delivered.get(conversationId);
  }

  /**
   * Every message the user may see up to `upTo` is in `messages` or was accounted for
   * before: emits the new ones in order, then whatever waited behind them.
   */
  settle(conversationId: string, messages: readonly Message[], upTo: bigint): void {
    let d = this.delivered.get(conversationId) ?? 0n;
    const waiting = this.ahead.get(conversationId);
    for (const m of messages) {
      if (m.seq <= d) continue;
      const held = waiting?.get(m.seq);
      if (held === null) this.take(waiting!, m.seq);
      else {
        if (held) this.take(waiting!, m.seq);
        this.out.emit(m);
      }
      d = m.seq;
    }
    if (upTo > d) d = upTo;
    if (waiting) for (const seq of [...waiting.keys()]) if (seq <= d) this.take(waiting, seq);
    this.writableDelivered().set(conversationId, d);
    this.drain(conversationId);
  }

  /** A message delivered live. */
  live(m: Message): void {
    this.accept(m, m);
  }

  /** This session's own message, answered by a send_result: it counts as delivered. */
  own(m: Message): void {
    this.accept(m, null);
  }

  /** Takes a seq; `held` is what to emit for it (null: nothing, the client has it). */
  private accept(m: Message, held: Message | null): void {
    const d = this.delivered.get(m.conversationId);
    if (d !== undefined && m.seq <= d) return;
    if (d !== undefined && m.seq === d + 1n && !this.ahead.has(m.conversationId)) {
      this.writableDelivered().set(m.conversationId, m.seq);
      if (held) this.out.emit(held);
      return;
    }
    this.hold(m.conversationId, m.seq, held);
  }

  /** The fill of a conversation is over; if a gap still stands, another is asked. */
  fillEnded(conversationId: string): void {
    this.filling.delete(conversationId);
    this.checkGap(conversationId);
  }

  /** Fills are held while the resume replay runs; this releases them. */
  startFilling(): void {
    this.holdFills = false;
    for (const conversationId of this.ahead.keys()) this.checkGap(conversationId);
  }

  private writableDelivered(): Map<string, bigint> {
    if (this.delivered === none) this.delivered = new Map();
    return this.delivered;
  }

  private hold(conversationId: string, seq: bigint, m: Message | null): void {
    let waiting = this.ahead.get(conversationId);
    if (!waiting) {
      if (this.ahead === none) this.ahead = new Map();
      this.ahead.set(conversationId, (waiting = new Map()));
    }
    if (!waiting.has(seq)) this.waiting++;
    // A send_result and a live copy of the same seq: the client has it either way.
    if (waiting.get(seq) !== null) waiting.set(seq, m);
    this.drain(conversationId);
  }

  private take(waiting: Map<bigint, Message | null>, seq: bigint): void {
    if (waiting.delete(seq)) this.waiting--;
  }

  private drain(conversationId: string): void {
    const waiting = this.ahead.get(conversationId);
    if (!waiting) return;
    // Nothing comes before seq 1, so a conversation first seen at seq 1 needs no fill.
    const d0 = this.delivered.get(conversationId) ?? (waiting.has(1n) ? 0n : undefined);
    if (d0 !== undefined) {
      let d = d0;
      for (let next = waiting.get(d + 1n); next !== undefined; next = waiting.get(d + 1n)) {
        this.take(waiting, d + 1n);
        d++;
        if (next) this.out.emit(next);
      }
      this.writableDelivered().set(conversationId, d);
    }
    if (waiting.size === 0) {
      this.ahead.delete(conversationId);
      return;
    }
    this.checkGap(conversationId);
  }

  private checkGap(conversationId: string): void {
    if (this.holdFills || this.filling.has(conversationId)) return;
    const waiting = this.ahead.get(conversationId);
    if (!waiting || waiting.size === 0) return;
    let lowest: bigint | undefined;
    for (const s of waiting.keys()) if (lowest === undefined || s < lowest) lowest = s;
    const d = this.delivered.get(conversationId) ?? 0n;
    if (lowest === undefined || lowest <= d + 1n) return;
    if (this.filling === noneSet) this.filling = new Set();
    this.filling.add(conversationId);
    this.out.requestFill(conversationId, d, lowest);
  }
}
