import type { MemberReceipt, Message, Presence } from "@messenger/proto/chat/v1/types";
import type { TypingEvent } from "@messenger/proto/gateway/v1/gateway_service";
import { directNames, formatMessage, formatPresence, type Names, type Participants } from "./format.js";
import { plainMarks, type Marks } from "./marks.js";
import { Timeline } from "./timeline.js";

/**
 * What one direct conversation looks like on screen: each message once and in seq order,
 * the peer's receipts when they newly cover messages of mine, the peer's presence and typing.
 * Receipt lines only move forward: once "read up to N" is shown, no "delivered" line for N
 * or below follows, whatever order receipts arrive in; and once the peer's reply is on
 * screen, my messages above it get no receipt line (the reply says more). It only prints;
 * talking to the server is the chat session's job.
 */
export class ConversationView extends Timeline {
  private readonly names: Names;
  private reportedDelivered = 0n;
  private reportedRead = 0n;
  private peerTyping = false;
  private lastPresence: string | undefined;

  constructor(
    conversationId: string,
    private readonly who: Participants,
    print: (line: string) => void,
    marks: Marks = plainMarks,
  ) {
    super(conversationId, who.myUserId, print, marks);
    this.names = directNames(who);
  }

  /** The peer's watermarks: shown when they newly cover one of my messages on screen (delivered only if not read too). */
  onReceipt(r: MemberReceipt): void {
    if (r.userId !== this.who.peerUserId) return;
    const read = this.highestOwnUpTo(r.readSeq);
    const delivered = this.highestOwnUpTo(r.deliveredSeq > r.readSeq ? r.deliveredSeq : r.readSeq);
    // The seq shown is my newest message covered, which is what the line is about; ownSeqs
    // holds only messages above what was shown read, so no line goes behind one shown.
    if (read > this.reportedRead) this.print(`  ${this.marks.read} read up to ${read}`);
    if (delivered > this.reportedDelivered && delivered > read) this.print(`  ${this.marks.delivered} delivered up to ${delivered}`);
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

  protected override format(m: Message): string {
    return formatMessage(m, this.names);
  }

  protected override shown(m: Message): void {
    if (m.senderUserId !== this.who.peerUserId) return;
    this.peerTyping = false;
    // Writing moves the peer's read watermark past my messages before it: a "read" line for
    // them, printed below the reply, would be old news.
    this.ownSeqs = this.ownSeqs.filter((s) => s > m.seq);
  }
}
