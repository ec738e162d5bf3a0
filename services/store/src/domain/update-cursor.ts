import { Code, ConnectError } from "@connectrpc/connect";
import type { ConversationRecord, HistoryRepository, ReceiptRecord } from "../storage/history-repository.js";
import { requireMember } from "./membership.js";

/**
 * Moves a device's delivered/read watermarks forward. A watermark beyond the newest message
 * is refused with OUT_OF_RANGE, so a client cannot claim to have read the future.
 */
export async function updateCursor(
  repo: HistoryRepository,
  req: { conversationId: string; userId: string; deviceId: string; deliveredSeq: number; readSeq: number },
): Promise<{ changed: boolean; receipt: ReceiptRecord; conversation: ConversationRecord }> {
  const conversation = await requireMember(repo, req.conversationId, req.userId);
  if (req.deliveredSeq > conversation.lastSeq || req.readSeq > conversation.lastSeq) {
    throw new ConnectError(`seq beyond the newest message (${conversation.lastSeq})`, Code.OutOfRange);
  }
  const result = await repo.updateCursor(conversation.id, req.userId, req.deviceId, req.deliveredSeq, req.readSeq);
  return { ...result, conversation };
}
