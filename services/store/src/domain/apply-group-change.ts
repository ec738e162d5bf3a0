import type { GroupChangeOutcome, HistoryRepository } from "../storage/history-repository.js";
import { validateGroupChange, type GroupChangeInput } from "./group-change.js";

/**
 * Commits a group change decided by the groups service: checked for what it is here, then
 * decided against the group as it stands (planGroupChange) and written with its system
 * message, in one transaction of the adapter. ABORTED when member_version moved, ALREADY_EXISTS
 * when a create names an existing conversation, NOT_FOUND / FAILED_PRECONDITION for a broken
 * structural invariant; nothing changes on any refusal.
 */
export async function applyGroupChange(repo: HistoryRepository, input: GroupChangeInput): Promise<GroupChangeOutcome> {
  validateGroupChange(input);
  return repo.applyGroupChange(input);
}
