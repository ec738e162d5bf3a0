import { GroupError } from "./group-error.js";
import { requireGroup, requireManager, type ChangeOf, type GroupDecision, type GroupSettings, type GroupState } from "./group-state.js";

/**
 * Decides adding users (owner and admins) as plain members. `userIds` are the request's
 * distinct ids (see distinctUserIds). Users who already are members are skipped when some
 * others are not; when every one of them is a member the request is refused with
 * "already-member". Former members are added again. The group must stay within
 * maxGroupMembers, or nothing is added.
 */
export function decideAddMembers(state: GroupState, actorUserId: string, userIds: readonly string[], settings: GroupSettings): GroupDecision<ChangeOf<"add-members">> {
  if (userIds.length === 0) throw new GroupError("invalid-argument", "user_ids must name at least one user");
  requireGroup(state);
  requireManager(state, actorUserId, "add members");
  const toAdd = userIds.filter((u) => !state.members.get(u)?.active);
  if (toAdd.length === 0) {
    throw new GroupError("already-member", userIds.length === 1 ? `user ${userIds[0]} is already a member` : "every listed user is already a member");
  }
  if (state.memberCount + toAdd.length > settings.maxGroupMembers) {
    throw new GroupError(
      "group-full",
      `a group has at most ${settings.maxGroupMembers} members; it has ${state.memberCount} and ${toAdd.length} would be added`,
    );
  }
  return { change: { kind: "add-members", userIds: toAdd }, expectedMemberVersion: state.memberVersion };
}
