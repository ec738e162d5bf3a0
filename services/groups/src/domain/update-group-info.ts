import { validateInfo } from "./group-input.js";
import { requireGroup, requireManager, type GroupDecision, type GroupState } from "./group-state.js";

/**
 * Decides a new title and description (owner and admins). Returns null when both are
 * already what is asked: nothing is committed and no system message is written.
 */
export function decideUpdateGroupInfo(state: GroupState, actorUserId: string, title: string, description: string): GroupDecision | null {
  validateInfo(title, description);
  requireGroup(state);
  requireManager(state, actorUserId, "change the group's title and description");
  if (state.title === title && state.description === description) return null;
  return { change: { kind: "update-info", title, description }, expectedMemberVersion: state.memberVersion };
}
