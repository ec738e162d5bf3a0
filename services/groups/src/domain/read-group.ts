import { GroupError } from "./group-error.js";
import { requireActiveMember, requireGroup, type GroupState, type Membership } from "./group-state.js";

/**
 * Authorizes reading a group's header: current and former members may (a former member
 * keeps reading the history up to when they left). Returns the caller's membership.
 */
export function authorizeGetGroup(state: GroupState, actorUserId: string): Membership {
  requireGroup(state);
  const m = state.members.get(actorUserId);
  if (!m) throw new GroupError("not-a-member", `you are not a member of group ${state.conversationId}`);
  return m;
}

/** Page sizes of ListMembers. */
export const memberPageSizes = { default: 100, max: 500 } as const;

/**
 * Authorizes listing a group's members (current members only) and resolves the page size:
 * 0 means the default, above the maximum is refused.
 */
export function authorizeListMembers(state: GroupState, actorUserId: string, pageSize: number): number {
  if (pageSize > memberPageSizes.max) throw new GroupError("invalid-argument", `page_size must be at most ${memberPageSizes.max}`);
  requireGroup(state);
  requireActiveMember(state, actorUserId);
  return pageSize === 0 ? memberPageSizes.default : pageSize;
}
