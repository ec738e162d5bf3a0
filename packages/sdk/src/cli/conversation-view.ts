import type { MemberReceipt, Message, Presence } from "@messenger/proto/chat/v1/types";
import type { TypingEvent } from "@messenger/proto/gateway/v1/gateway_service";
import { formatMessage, formatPresence, type Participants } from "./format.js";

/**
 * What one direct conversation looks like on screen: each message once and in seq order,
 * the peer's receipts when they newly cover messages of mine, the peer's presence and typing.
 * It only prints; talking to the server is the chat session's job.
 */
export class ConversationView {
  private printedUpTo = 0n;
  /** Seqs of my messages on screen whose read receipt has not been shown yet, ascending. */
  private ownSeqs: bigint[] = [];
  private reportedDelivered = 0n;
  private reportedRead = 0n;
  private peerTyping = false;
  private lastPresence: string | undefined;
  private holds = 0;
  private held: Message[] = [];

  constructor(
    readonly conversationId: string,
    private readonly who: Participants,
    private readonly print: (line: string) => void,
  ) {}

  /** The highest seq on screen: what to mark read. */
  get shownUpTo(): bigint {
    return this.printedUpTo;
  }

  /** Shows a message of this conversation unless it is already on screen (or older). */
  show(m: Message): void {
    if (m.conversationId !== this.conversationId) return;
    if (this.holds > 0) {
      this.held.push(m);
      return;
    }
    if (m.seq <= this.printedUpTo) return;
    this.printedUpTo = m.seq;
    if (m.senderUserId === this.who.myUserId) this.ownSeqs.push(m.seq);
    else if (m.senderUserId === this.who.peerUserId) this.peerTyping = false;
    this.print(formatMessage(m, this.who));
  }

  /** Holds live messages back while history is being reloaded. */
  hold(): void {
    this.holds++;
  }

  /**
   * Ends a hold: shows the reloaded page (noting what was skipped before it), then what
   * arrived meanwhile.
   */
  release(reloaded: readonly Message[]): void {
    this.holds = Math.max(0, this.holds - 1);
    const first = reloaded.find((m) => m.seq > this.printedUpTo);
    if (first && this.printedUpTo > 0n && first.seq > this.printedUpTo + 1n) {
      const skipped = first.seq - this.printedUpTo - 1n;
      this.print(`… ${skipped} message${skipped === 1n ? "" : "s"} not shown`);
    }
    for (const m of reloaded) this.show(m);
    if (this.holds > 0) return;
    const held = this.held;
    this.held = [];
    for (const m of held) this.show(m);
  }

  /** The peer's watermarks: shown when they newly cover one of my messages on screen (delivered only if not read too). */
  onReceipt(r: MemberReceipt): void {
    if (r.userId !== this.who.peerUserId) return;
    const read = this.highestOwnUpTo(r.readSeq);
    const delivered = this.highestOwnUpTo(r.deliveredSeq > r.readSeq ? r.deliveredSeq : r.readSeq);
    // The seq shown is my newest message covered, which is what the line is about.
    if (delivered > this.reportedDelivered && delivered > read) this.print(`  ✓✓ delivered up to ${delivered}`);
    if (read > this.reportedRead) this.print(`  ✓✓ read up to ${read}`);
    if (delivered > this.reportedDelivered) this.reportedDelivered = delivered;
    if (read > this.reportedRead) this.reportedRead = read;
    // What is reported read never needs reporting again.
    this.ownSeqs = this.ownSeqs.filter((s) => s > this.reportedRead);
  }

  onPresence(p: Presence): void {
    if (p.userId !== this.who.peerUserId) return;
    const line = formatPresence(this.who.peerName, p);
    if (line === this.lastPresence) return;
    this.lastPresence = line;
    this.print(`-- ${line}`);
  }

  onTyping(t: TypingEvent): void {
    if (t.conversationId !== this.conversationId || t.userId !== this.who.peerUserId) return;
    if (t.typing && !this.peerTyping) this.print(`-- ${this.who.peerName} is typing…`);
    this.peerTyping = t.typing;
  }

  private highestOwnUpTo(seq: bigint): bigint {
    let best = 0n;
    for (const s of this.ownSeqs) if (s <= seq && s > best) best = s;
    return best;
  }
}
