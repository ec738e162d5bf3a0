import { GroupError } from "./group-error.js";
import { validateUserId } from "./group-input.js";
import { requireGroup, requireOwner, requireTarget, type GroupDecision, type GroupState } from "./group-state.js";

/** Decides handing the group to another current member (owner only); the old owner becomes an admin. */
export function decideTransferOwnership(state: GroupState, actorUserId: string, toUserId: string): GroupDecision {
  validateUserId(toUserId, "user_id");
  requireGroup(state);
  requireOwner(state, actorUserId, "transfer ownership");
  if (toUserId === actorUserId) throw new GroupError("failed-precondition", "you already own this group");
  requireTarget(state, toUserId);
  return { change: { kind: "transfer-ownership", toUserId }, expectedMemberVersion: state.memberVersion };
}
