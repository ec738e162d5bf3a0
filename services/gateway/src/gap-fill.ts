import type { Message } from "@messenger/proto/chat/v1/types";
import type { Session } from "./session.js";

/** Reads what a user may see of a conversation's seq window (the store's ReadMessages). */
export type ReadWindow = (req: { userId: string; conversationId: string; afterSeq: bigint; beforeSeq: bigint; limit: number }) => Promise<readonly Message[]>;

/**
 * Reads one page of a gap of a session's conversation and settles it. A full page settles
 * only up to its last message (the feed then asks for the rest); a short page settles the
 * whole window: the seqs it lacks are not visible to this user. Returns false when there was
 * nothing left to read.
 */
export async function fillGapPage(read: ReadWindow, session: Session, conversationId: string, afterSeq: bigint, beforeSeq: bigint, limit: number): Promise<boolean> {
  const current = session.feeds.deliveredOf(conversationId) ?? afterSeq;
  if (current + 1n >= beforeSeq || session.isClosed) return false;
  await session.roomFor();
  const messages = await read({ userId: session.userId, conversationId, afterSeq: current, beforeSeq, limit });
  const full = messages.length >= limit;
  session.feeds.settle(conversationId, messages, full ? messages.at(-1)!.seq : beforeSeq - 1n);
  return true;
}
