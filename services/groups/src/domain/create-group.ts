import { GroupError } from "./group-error.js";
import { distinctUserIds, validateInfo } from "./group-input.js";
import type { ChangeOf, GroupDecision, GroupRetention, GroupSettings } from "./group-state.js";

/** A CreateGroup request in domain terms. */
export interface CreateGroupInput {
  readonly title: string;
  readonly description: string;
  readonly memberUserIds: readonly string[];
  /** Permanent when absent. */
  readonly retention?: GroupRetention;
}

/**
 * Decides a new group with `actorUserId` as owner. Listed members are de-duplicated and the
 * creator naming themselves is ignored; the group with its owner must fit maxGroupMembers.
 * Whether the listed users exist is checked by the caller of this rule (an account lookup);
 * the retention (permanent unless asked) by the store, which commits the group with it.
 */
export function decideCreateGroup(actorUserId: string, input: CreateGroupInput, settings: GroupSettings): GroupDecision<ChangeOf<"create">> {
  validateInfo(input.title, input.description);
  const memberUserIds = distinctUserIds(input.memberUserIds, "member_user_ids", actorUserId);
  if (1 + memberUserIds.length > settings.maxGroupMembers) {
    throw new GroupError("group-full", `a group has at most ${settings.maxGroupMembers} members, its owner included; ${1 + memberUserIds.length} asked`);
  }
  const retention = input.retention ?? { mode: "permanent", ttlSeconds: 0 };
  return { change: { kind: "create", title: input.title, description: input.description, memberUserIds, retention }, expectedMemberVersion: 0n };
}
