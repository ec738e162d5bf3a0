import { GroupError } from "./group-error.js";
import { requireActiveMember, requireGroup, type GroupDecision, type GroupState } from "./group-state.js";

/** Decides the caller leaving. The owner must hand ownership over first (TransferOwnership). */
export function decideLeaveGroup(state: GroupState, actorUserId: string): GroupDecision {
  requireGroup(state);
  const actor = requireActiveMember(state, actorUserId);
  if (actor.role === "owner") throw new GroupError("failed-precondition", "the owner must transfer ownership before leaving the group");
  return { change: { kind: "leave" }, expectedMemberVersion: state.memberVersion };
}
