import type { ConversationRecord, HistoryRepository, MemberRecord, UserConversation } from "../storage/history-repository.js";
import { invalidArgument, notFound, permissionDenied } from "./errors.js";
import { limits } from "./limits.js";

/** A conversation with the viewer's membership (current or former). */
export interface Viewer {
  readonly conversation: ConversationRecord;
  readonly member: MemberRecord;
}

/** Checks an id a request names. */
export function requireId(value: string, what: string): void {
  if (!value) throw invalidArgument(`${what} is required`);
  if (value.length > limits.maxIdChars) throw invalidArgument(`${what} exceeds ${limits.maxIdChars} characters`);
}

/**
 * Loads a conversation for a user who is or was a member (a former member still reads up to
 * the end of their ranges): NOT_FOUND when it does not exist, PERMISSION_DENIED when the user
 * never was a member.
 */
export async function requireViewer(repo: HistoryRepository, conversationId: string, userId: string): Promise<Viewer> {
  requireId(conversationId, "conversation_id");
  requireId(userId, "user_id");
  const [conversation, member] = await Promise.all([repo.getConversation(conversationId), repo.getMember(conversationId, userId)]);
  if (!conversation) throw notFound(`conversation ${conversationId} not found`);
  if (!member) throw permissionDenied(`not a member of conversation ${conversationId}`);
  return { conversation, member };
}

/**
 * Like requireViewer, with the conversation's folder from the user's index. A member whose
 * index row is not written yet (a sharded store writes it in a second step) sees it in the
 * inbox: only a direct conversation's creation puts it in someone's requests.
 */
export async function requireUserConversation(repo: HistoryRepository, conversationId: string, userId: string): Promise<UserConversation> {
  requireId(conversationId, "conversation_id");
  requireId(userId, "user_id");
  const row = await repo.userConversation(userId, conversationId);
  if (row) return row;
  return { ...(await requireViewer(repo, conversationId, userId)), request: false, hiddenSeq: 0 };
}

/** Loads a conversation that must exist (internal reads that need no viewer). */
export async function requireConversation(repo: HistoryRepository, conversationId: string): Promise<ConversationRecord> {
  requireId(conversationId, "conversation_id");
  const conversation = await repo.getConversation(conversationId);
  if (!conversation) throw notFound(`conversation ${conversationId} not found`);
  return conversation;
}
