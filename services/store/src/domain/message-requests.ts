import type { HistoryRepository } from "../storage/history-repository.js";
import { viewConversations, type ConversationView } from "./conversation-view.js";
import { requireId, requireUserConversation } from "./membership.js";

/**
 * Moves a conversation from the user's message requests to their inbox and returns it as the
 * user now sees it. NOT_FOUND when it is not one of the user's conversations; one already in
 * the inbox stays there.
 */
export async function acceptMessageRequest(repo: HistoryRepository, userId: string, conversationId: string, largeGroupThreshold: number): Promise<ConversationView> {
  requireId(userId, "user_id");
  requireId(conversationId, "conversation_id");
  await repo.acceptRequest(userId, conversationId);
  const [view] = await viewConversations(repo, [await requireUserConversation(repo, conversationId, userId)], largeGroupThreshold);
  return view!;
}

/**
 * Takes a conversation out of the user's message requests until the conversation moves
 * again: the next message by either user (the caller's own too) brings it back, still a
 * request. A reply never accepts a request: that is acceptMessageRequest's alone.
 * NOT_FOUND when it is not one of the user's conversations, FAILED_PRECONDITION when it is in
 * the inbox (a conversation there is left, not deleted).
 */
export async function deleteMessageRequest(repo: HistoryRepository, userId: string, conversationId: string): Promise<void> {
  requireId(userId, "user_id");
  requireId(conversationId, "conversation_id");
  await repo.deleteRequest(userId, conversationId);
}
