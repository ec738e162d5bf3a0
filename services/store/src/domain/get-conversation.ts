import type { HistoryRepository } from "../storage/history-repository.js";
import { viewConversations, type ConversationView } from "./conversation-view.js";
import { requireUserConversation } from "./membership.js";

/** One conversation as a member (or former member) sees it. */
export async function getConversation(repo: HistoryRepository, userId: string, conversationId: string, largeGroupThreshold: number): Promise<ConversationView> {
  const viewer = await requireUserConversation(repo, conversationId, userId);
  const [view] = await viewConversations(repo, [viewer], largeGroupThreshold);
  return view!;
}
