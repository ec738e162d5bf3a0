import type { Message } from "@messenger/proto/chat/v1/types";
import { plainMarks, type Marks } from "./marks.js";

/**
 * The message part of a conversation's screen: each message once and in seq order, with
 * live messages held back while history is being reloaded. The user's own messages carry the
 * "sent" mark (each one is on screen only once the server stored it); the views built on it
 * print receipt lines for them. A marker line can separate what the user had read from what
 * came since.
 */
export abstract class Timeline {
  private printedUpTo = 0n;
  /** Seqs of my messages on screen whose read receipt has not been shown yet, ascending. */
  protected ownSeqs: bigint[] = [];
  private holds = 0;
  private held: Message[] = [];
  private newMarker: { after: bigint; line: string } | undefined;

  constructor(
    readonly conversationId: string,
    protected readonly myUserId: string,
    protected readonly print: (line: string) => void,
    protected readonly marks: Marks = plainMarks,
  ) {}

  /** Prints `line` before the first message shown after seq `after` (once). */
  markNewAfter(after: bigint, line: string): void {
    this.newMarker = { after, line };
  }

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
    const mine = m.senderUserId === this.myUserId && m.body.case !== "system";
    if (mine) this.ownSeqs.push(m.seq);
    this.shown(m);
    if (this.newMarker && m.seq > this.newMarker.after) {
      this.print(this.newMarker.line);
      this.newMarker = undefined;
    }
    this.print(mine ? `${this.format(m)} ${this.marks.sent}` : this.format(m));
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

  /** My newest message on screen at or below seq; 0 when none. */
  protected highestOwnUpTo(seq: bigint): bigint {
    let best = 0n;
    for (const s of this.ownSeqs) if (s <= seq && s > best) best = s;
    return best;
  }

  /** The line for a message. */
  protected abstract format(m: Message): string;

  /** Called as a message goes on screen, before its line is printed. */
  protected shown(_m: Message): void {}
}
