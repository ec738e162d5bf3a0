import type { CursorOutcome, HistoryRepository } from "../storage/history-repository.js";
import { invalidArgument } from "./errors.js";
import { requireId } from "./membership.js";

/**
 * Moves a device's delivered/read watermarks forward (0 leaves one as it is). The adapter
 * checks, in the write's transaction: the conversation exists (NOT_FOUND), the user is or was
 * a member (PERMISSION_DENIED), and neither watermark passes the newest seq the user may see
 * (OUT_OF_RANGE), so a client cannot claim to have read the future, and a former member moves
 * theirs only up to the end of their range.
 */
export async function updateCursor(
  repo: HistoryRepository,
  req: { conversationId: string; userId: string; deviceId: string; deliveredSeq: number; readSeq: number },
): Promise<CursorOutcome> {
  requireId(req.conversationId, "conversation_id");
  if (!req.userId || !req.deviceId) throw invalidArgument("user and device are required");
  return repo.updateCursor(req.conversationId, req.userId, req.deviceId, req.deliveredSeq, req.readSeq);
}
