import type { HistoryRepository, MessageRecord } from "../storage/history-repository.js";
import { limits } from "./limits.js";
import { requireViewer } from "./membership.js";
import { clampPageSize } from "./page-token.js";
import { readVisible, visibleIntervals, visibleLastSeq } from "./visibility.js";

/**
 * The messages of a seq window (afterSeq < seq < beforeSeq, beforeSeq 0 for none) that the
 * user may see, lowest first, at most `limit` (1..maxMessagePageSize, default page size when
 * 0). NOT_FOUND for an unknown conversation, PERMISSION_DENIED when the user never was a
 * member. `lastSeq` is the newest seq the user may see.
 */
export async function readMessages(
  repo: HistoryRepository,
  req: { userId: string; conversationId: string; afterSeq: number; beforeSeq: number; limit: number },
): Promise<{ messages: MessageRecord[]; lastSeq: number }> {
  const { conversation: conv, member } = await requireViewer(repo, req.conversationId, req.userId);
  const intervals = visibleIntervals(conv, await repo.rangesOf(conv.id, req.userId));
  const { messages } = await readVisible(repo, conv.id, intervals, {
    afterSeq: req.afterSeq,
    beforeSeq: req.beforeSeq === 0 ? Number.MAX_SAFE_INTEGER : req.beforeSeq,
    limit: clampPageSize(req.limit, limits.defaultPageSize, limits.maxMessagePageSize),
    direction: "forward",
  });
  return { messages, lastSeq: visibleLastSeq(conv, member) };
}
