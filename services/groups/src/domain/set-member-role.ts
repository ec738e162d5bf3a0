import { GroupError } from "./group-error.js";
import { validateUserId } from "./group-input.js";
import { requireGroup, requireOwner, requireTarget, type GroupDecision, type GroupState, type Role } from "./group-state.js";

/**
 * Decides making a member an admin or a plain member (owner only). Ownership moves only
 * through TransferOwnership, so neither OWNER nor the owner's own role can be set here.
 * Returns null when the member already has the role: nothing is committed.
 */
export function decideSetMemberRole(state: GroupState, actorUserId: string, userId: string, role: Role | undefined): GroupDecision | null {
  validateUserId(userId, "user_id");
  if (role === "owner") throw new GroupError("invalid-argument", "role cannot be OWNER: use TransferOwnership");
  if (role === undefined) throw new GroupError("invalid-argument", "role must be MEMBER_ROLE_MEMBER or MEMBER_ROLE_ADMIN");
  requireGroup(state);
  requireOwner(state, actorUserId, "set member roles");
  if (userId === actorUserId) throw new GroupError("failed-precondition", "the owner's role changes only through TransferOwnership");
  const target = requireTarget(state, userId);
  if (target.role === role) return null;
  return { change: { kind: "set-role", userId, role }, expectedMemberVersion: state.memberVersion };
}
