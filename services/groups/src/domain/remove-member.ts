import { GroupError } from "./group-error.js";
import { validateUserId } from "./group-input.js";
import { requireGroup, requireManager, requireTarget, type GroupDecision, type GroupState } from "./group-state.js";

/**
 * Decides removing a member (owner and admins). Nobody removes the owner; an admin cannot
 * remove another admin; a caller leaves through LeaveGroup, not by removing themselves.
 */
export function decideRemoveMember(state: GroupState, actorUserId: string, userId: string): GroupDecision {
  validateUserId(userId, "user_id");
  requireGroup(state);
  const actor = requireManager(state, actorUserId, "remove members");
  if (userId === actorUserId) throw new GroupError("invalid-argument", "use LeaveGroup to leave a group");
  const target = requireTarget(state, userId);
  if (target.role === "owner") throw new GroupError("forbidden", "nobody can remove the group's owner");
  if (actor.role === "admin" && target.role === "admin") throw new GroupError("forbidden", "an admin cannot remove another admin");
  return { change: { kind: "remove-member", userId }, expectedMemberVersion: state.memberVersion };
}
