import { DomainError } from "@messenger/rpc/domain-error";
import { currentMembers } from "./member-ranges.js";
import type { MembershipCache } from "./membership-cache.js";
import { SessionIndex } from "./session-index.js";
import type { PublishToGateway, SessionLookup } from "./ports.js";

/** How long a typing indicator lasts unless renewed. */
export const typingTtlMs = 6_000;

/**
 * Tells the other current members that someone types. Only a current member of a
 * conversation that is not blocked may (checked against the membership as it is now); in a large group typing is not pushed at all, since
 * a thousand members cannot follow who types and it would cost a fan-out per keystroke.
 */
export async function setTyping(
  deps: { memberships: MembershipCache; sessions: SessionLookup; publish: PublishToGateway; largeGroupThreshold: number },
  req: { userId: string; sessionId: string; conversationId: string; typing: boolean },
): Promise<void> {
  if (!req.conversationId) throw new DomainError("invalid_argument", "conversation_id is required");
  const membership = await deps.memberships.current(req.conversationId);
  const members = currentMembers(membership);
  if (!members.includes(req.userId)) throw new DomainError("permission_denied", `not a member of conversation ${req.conversationId}`);
  // Read fresh with the membership: a blocked user's typing never reaches the blocker.
  if (membership.blocked) throw new DomainError("permission_denied", "messages between these users are blocked");
  if (membership.memberCount > deps.largeGroupThreshold) return;
  const others = members.filter((u) => u !== req.userId);
  const sessions = new SessionIndex(await deps.sessions.sessionsOf(others));
  const frame = { frame: { case: "typing" as const, value: { conversationId: req.conversationId, userId: req.userId, typing: req.typing, expiresInMs: typingTtlMs } } };
  for (const [gatewayId, userIds] of sessions.byGateway(others, req.sessionId)) deps.publish(gatewayId, userIds, frame, req.sessionId);
}
