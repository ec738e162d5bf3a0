import type { HistoryRepository, MessageRecord } from "../storage/history-repository.js";
import { limits } from "./limits.js";
import { requireViewer } from "./membership.js";
import { clampPageSize } from "./page-token.js";
import { readVisible, visibleIntervals, visibleLastSeq } from "./visibility.js";

/** One page of a conversation as the user sees it. */
export interface MessagePage {
  readonly messages: MessageRecord[];
  /** More messages the user may see lie further in the requested direction. */
  readonly hasMore: boolean;
  /** The newest seq the user may see. */
  readonly lastSeq: number;
  readonly minSeq: number;
}

/**
 * Pages through a conversation from an anchor seq (exclusive), showing only the seqs inside
 * the user's membership ranges (a former member reads up to the end of their last range).
 * Backward from anchor 0 means "the newest page". Page size is clamped to 1..maxMessagePageSize.
 */
export async function listMessages(
  repo: HistoryRepository,
  userId: string,
  req: { conversationId: string; anchorSeq: number; direction: "forward" | "backward"; pageSize: number },
): Promise<MessagePage> {
  const { conversation: conv, member } = await requireViewer(repo, req.conversationId, userId);
  const size = clampPageSize(req.pageSize, limits.defaultPageSize, limits.maxMessagePageSize);
  const intervals = visibleIntervals(conv, await repo.rangesOf(conv.id, userId));
  const lastSeq = visibleLastSeq(conv, member);
  const window =
    req.direction === "forward"
      ? { afterSeq: req.anchorSeq, beforeSeq: Number.MAX_SAFE_INTEGER, limit: size, direction: "forward" as const }
      : { afterSeq: 0, beforeSeq: req.anchorSeq === 0 ? Number.MAX_SAFE_INTEGER : req.anchorSeq, limit: size, direction: "backward" as const };
  const page = await readVisible(repo, conv.id, intervals, window);
  return { ...page, lastSeq, minSeq: conv.minSeq };
}
