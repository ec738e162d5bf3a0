import type { HistoryRepository, MessageRecord } from "../storage/history-repository.js";
import { limits } from "./limits.js";
import { requireMember } from "./membership.js";

/** One page of a conversation. */
export interface MessagePage {
  readonly messages: MessageRecord[];
  readonly hasMore: boolean;
  readonly lastSeq: number;
}

/**
 * Pages through a conversation from an anchor seq (exclusive). Backward from anchor 0 means
 * "the newest page". Page size is clamped to 1..maxMessagePageSize.
 */
export async function listMessages(
  repo: HistoryRepository,
  userId: string,
  req: { conversationId: string; anchorSeq: number; direction: "forward" | "backward"; pageSize: number },
): Promise<MessagePage> {
  const conv = await requireMember(repo, req.conversationId, userId);
  const size = Math.min(Math.max(req.pageSize || limits.defaultPageSize, 1), limits.maxMessagePageSize);
  if (req.direction === "forward") {
    const messages = await repo.listMessages(conv.id, { afterSeq: req.anchorSeq, limit: size, direction: "forward" });
    const end = messages.at(-1)?.seq ?? req.anchorSeq;
    return { messages, hasMore: end < conv.lastSeq, lastSeq: conv.lastSeq };
  }
  const before = req.anchorSeq === 0 ? conv.lastSeq + 1 : req.anchorSeq;
  const messages = await repo.listMessages(conv.id, { beforeSeq: before, limit: size, direction: "backward" });
  const start = messages[0]?.seq ?? before;
  return { messages, hasMore: start > 1, lastSeq: conv.lastSeq };
}
