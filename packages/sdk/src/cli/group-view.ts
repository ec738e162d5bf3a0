import type { Message, ReceiptSummary } from "@messenger/proto/chat/v1/types";
import type { TypingEvent } from "@messenger/proto/gateway/v1/gateway_service";
import { formatMessage, type Names } from "./format.js";
import { plainMarks, type Marks } from "./marks.js";
import { Timeline } from "./timeline.js";

/**
 * What one group looks like on screen: each message once and in seq order (system messages
 * as one-line descriptions), receipts as the group's aggregate ("delivered to all up to N",
 * "read by all up to N") and, while not everyone has read my newest message, "read by k of
 * n up to N", and who is typing. Receipt lines only move forward (no "delivered to all" line
 * for a seq already shown as read by all). It only prints; talking to the server is the
 * session's job.
 */
export class GroupView extends Timeline {
  private reportedDeliveredAll = 0n;
  private reportedReadAll = 0n;
  private partial: { seq: bigint; readers: number } | undefined;
  private readonly typing = new Set<string>();

  constructor(
    conversationId: string,
    private readonly names: Names,
    private members: number,
    print: (line: string) => void,
    marks: Marks = plainMarks,
  ) {
    super(conversationId, names.myUserId, print, marks);
  }

  /** Current members, as last seen. */
  get memberCount(): number {
    return this.members;
  }

  /** The number of current members, after a membership change. */
  setMemberCount(n: number): void {
    if (n > 0) this.members = n;
  }

  /** The group's aggregate moved: shown when it newly covers one of my messages on screen. */
  onSummary(s: ReceiptSummary): void {
    if (s.memberCount > 0) this.members = s.memberCount;
    const read = this.highestOwnUpTo(s.readAllSeq);
    const delivered = this.highestOwnUpTo(s.deliveredAllSeq > s.readAllSeq ? s.deliveredAllSeq : s.readAllSeq);
    if (read > this.reportedReadAll) this.print(`  ${this.marks.read} read by all up to ${read}`);
    if (delivered > this.reportedDeliveredAll && delivered > read) this.print(`  ${this.marks.delivered} delivered to all up to ${delivered}`);
    if (delivered > this.reportedDeliveredAll) this.reportedDeliveredAll = delivered;
    if (read > this.reportedReadAll) this.reportedReadAll = read;
    this.ownSeqs = this.ownSeqs.filter((seq) => seq > this.reportedReadAll);
  }

  /**
   * A member's receipt moved (direct chats and small groups only get these): shows how many
   * of the others read my newest message on screen, while that is some but not all of them
   * (all of them is the summary's line). `readers(seq)` counts the members besides me who did.
   */
  onMemberRead(readers: (seq: bigint) => number): void {
    const newest = this.ownSeqs.at(-1);
    const others = this.members - 1;
    if (newest === undefined || others <= 0) return;
    const k = readers(newest);
    if (k <= 0 || k >= others) return;
    if (this.partial && this.partial.seq === newest && this.partial.readers >= k) return;
    this.partial = { seq: newest, readers: k };
    this.print(`  ${this.marks.read} read by ${k} of ${others} up to ${newest}`);
  }

  onTyping(t: TypingEvent): void {
    if (t.conversationId !== this.conversationId || t.userId === this.names.myUserId) return;
    if (t.typing && !this.typing.has(t.userId)) this.print(`-- ${this.names.nameOf(t.userId)} is typing…`);
    if (t.typing) this.typing.add(t.userId);
    else this.typing.delete(t.userId);
  }

  protected override format(m: Message): string {
    return formatMessage(m, this.names);
  }

  protected override shown(m: Message): void {
    this.typing.delete(m.senderUserId);
  }
}
