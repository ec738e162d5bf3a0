import { permanentRetention, type HistoryRepository, type RetentionPolicy } from "../storage/history-repository.js";
import { viewConversations, type ConversationView } from "./conversation-view.js";
import { invalidArgument } from "./errors.js";
import { requireId, requireUserConversation } from "./membership.js";
import { checkRetention } from "./retention.js";

/**
 * The caller's direct conversation with a peer, created on first use. The caller of this
 * use case checks that the peer exists and says where a new conversation lands for the peer
 * (the accounts service knows users and their relations); the store refuses the open when
 * the peer blocks the caller, and files the conversation in the peer's inbox when the pair
 * became contacts after the caller asked (both read in the writer, see
 * HistoryRepository.openDirect). `retention` (checked as SetRetention checks it, before
 * anything is written) is the new conversation's; an existing one keeps its own, which the
 * view shows.
 */
export async function openDirectConversation(
  repo: HistoryRepository,
  userId: string,
  peerUserId: string,
  now: number,
  peerLandsInRequests: boolean,
  largeGroupThreshold: number,
  retention: RetentionPolicy = permanentRetention,
): Promise<ConversationView> {
  requireId(peerUserId, "peer_user_id");
  if (peerUserId === userId) throw invalidArgument("cannot open a direct conversation with yourself");
  const conv = await repo.openDirect(userId, peerUserId, now, peerLandsInRequests, checkRetention(retention));
  const [view] = await viewConversations(repo, [await requireUserConversation(repo, conv.id, userId)], largeGroupThreshold);
  return view!;
}
