import type { HistoryRepository } from "../storage/history-repository.js";
import { viewConversations, type ConversationView } from "./conversation-view.js";
import { invalidArgument } from "./errors.js";
import { requireId } from "./membership.js";

/**
 * The caller's direct conversation with a peer, created on first use. The peer's existence
 * is checked by the caller of this use case (the accounts service knows users).
 */
export async function openDirectConversation(repo: HistoryRepository, userId: string, peerUserId: string, now: number, largeGroupThreshold: number): Promise<ConversationView> {
  requireId(peerUserId, "peer_user_id");
  if (peerUserId === userId) throw invalidArgument("cannot open a direct conversation with yourself");
  const conv = await repo.openDirect(userId, peerUserId, now);
  const member = await repo.getMember(conv.id, userId);
  const [view] = await viewConversations(repo, [{ conversation: conv, member: member! }], largeGroupThreshold);
  return view!;
}
