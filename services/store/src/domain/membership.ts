import { Code, ConnectError } from "@connectrpc/connect";
import type { ConversationRecord, HistoryRepository } from "../storage/history-repository.js";

/**
 * Loads a conversation for a caller: NOT_FOUND when it does not exist, PERMISSION_DENIED
 * when the caller is not a member.
 */
export async function requireMember(repo: HistoryRepository, conversationId: string, userId: string): Promise<ConversationRecord> {
  if (!conversationId) throw new ConnectError("conversation_id is required", Code.InvalidArgument);
  return requireMemberOf(await repo.getConversation(conversationId), conversationId, userId);
}

/** The membership check of requireMember, on a conversation already loaded (or undefined). */
export function requireMemberOf(conv: ConversationRecord | undefined, conversationId: string, userId: string): ConversationRecord {
  if (!conv) throw new ConnectError(`conversation ${conversationId} not found`, Code.NotFound);
  if (!conv.memberUserIds.includes(userId)) throw new ConnectError(`not a member of conversation ${conversationId}`, Code.PermissionDenied);
  return conv;
}
