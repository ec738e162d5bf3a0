import type { ConversationRecord, HistoryRepository, MemberRangeRecord, MemberRecord, MessageRecord } from "../storage/history-repository.js";

/** A closed seq interval a user may see. */
export interface SeqInterval {
  readonly from: number;
  readonly to: number;
}

/** The newest seq the user may see: the conversation's end for a member, the end of the last range for a former one. */
export function visibleLastSeq(conv: ConversationRecord, member: MemberRecord): number {
  return member.active ? conv.lastSeq : Math.min(member.leftSeq ?? 0, conv.lastSeq);
}

/** The user's unread messages in a conversation: what they may see beyond their read mark. */
export function unreadOf(conv: ConversationRecord, member: MemberRecord): number {
  return Math.max(0, visibleLastSeq(conv, member) - member.readSeq);
}

/**
 * The user's ranges as concrete intervals, ascending, cut to what exists: an open range ends
 * at the conversation's last seq, nothing below min_seq (or 1) exists.
 */
export function visibleIntervals(conv: ConversationRecord, ranges: readonly MemberRangeRecord[]): SeqInterval[] {
  const floor = Math.max(conv.minSeq, 1);
  return ranges
    .map((r) => ({ from: Math.max(r.fromSeq, floor), to: Math.min(r.toSeq ?? conv.lastSeq, conv.lastSeq) }))
    .filter((i) => i.from <= i.to)
    .sort((a, b) => a.from - b.from);
}

/** How many visible seqs lie in (afterSeq, upToSeq]. */
export function countVisible(intervals: readonly SeqInterval[], afterSeq: number, upToSeq: number): number {
  let n = 0;
  for (const i of intervals) n += Math.max(0, Math.min(i.to, upToSeq) - Math.max(i.from, afterSeq + 1) + 1);
  return n;
}

/** True when a visible seq lies strictly above `seq` (forward) or strictly below it (backward). */
export function visibleBeyond(intervals: readonly SeqInterval[], seq: number, direction: "forward" | "backward"): boolean {
  return direction === "forward" ? intervals.some((i) => i.to > seq) : intervals.some((i) => i.from < seq);
}

/**
 * The visible messages with afterSeq < seq < beforeSeq, ascending: "forward" the `limit`
 * lowest, "backward" the `limit` highest. Reads only inside the intervals, one window per
 * interval touched, so a long invisible stretch costs nothing. `hasMore` says whether more
 * visible seqs lie further in that direction.
 */
export async function readVisible(
  repo: HistoryRepository,
  conversationId: string,
  intervals: readonly SeqInterval[],
  window: { afterSeq: number; beforeSeq: number; limit: number; direction: "forward" | "backward" },
): Promise<{ messages: MessageRecord[]; hasMore: boolean }> {
  const { afterSeq, beforeSeq, limit, direction } = window;
  const parts = intervals
    .map((i) => ({ from: Math.max(i.from, afterSeq + 1), to: Math.min(i.to, beforeSeq - 1) }))
    .filter((i) => i.from <= i.to);
  if (direction === "backward") parts.reverse();
  const pages: MessageRecord[][] = [];
  let taken = 0;
  for (const p of parts) {
    if (taken >= limit) break;
    const page = await repo.listMessages(conversationId, { afterSeq: p.from - 1, beforeSeq: p.to + 1, limit: limit - taken, direction });
    pages.push(page);
    taken += page.length;
  }
  if (direction === "backward") pages.reverse();
  const messages = pages.flat();
  if (messages.length === 0) return { messages, hasMore: false };
  const edge = direction === "forward" ? messages.at(-1)!.seq : messages[0]!.seq;
  const further = direction === "forward" ? visibleBeyond(intervals, edge, "forward") : visibleBeyond(intervals, edge, "backward");
  return { messages, hasMore: further };
}
