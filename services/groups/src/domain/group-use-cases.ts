import { randomUUID } from "node:crypto";
import { decideAddMembers } from "./add-members.js";
import { decideCreateGroup, type CreateGroupInput } from "./create-group.js";
import { GroupError } from "./group-error.js";
import { distinctUserIds } from "./group-input.js";
import type { Committed, GroupPorts, MemberPage } from "./group-ports.js";
import type { GroupDecision, GroupSettings, GroupState, Membership, Role } from "./group-state.js";
import { decideLeaveGroup } from "./leave-group.js";
import { defaultRetryPolicy, withOptimisticRetry, type RetryPolicy } from "./optimistic-retry.js";
import { authorizeGetGroup, authorizeListMembers } from "./read-group.js";
import { decideRemoveMember } from "./remove-member.js";
import { decideSetMemberRole } from "./set-member-role.js";
import { decideTransferOwnership } from "./transfer-ownership.js";
import { decideUpdateGroupInfo } from "./update-group-info.js";

/** Settings of the group use cases; the defaults suit production. */
export interface GroupUseCaseOptions {
  readonly settings: GroupSettings;
  readonly retry?: RetryPolicy;
  /** Ids of new groups; unique random ids by default. */
  readonly newGroupId?: () => string;
}

/** A new group's id: `grp_` and 32 random hex digits (direct conversations are `dm_…`). */
export const newGroupId = (): string => `grp_${randomUUID().replaceAll("-", "")}`;

/** A group as its reader may see it, with the reader's membership (possibly a former one). */
export interface GroupView {
  readonly state: GroupState;
  readonly membership: Membership;
}

/** The group use cases of one call: each reads, applies the rules, commits, then delivers. */
export interface GroupUseCases<E> {
  createGroup(actorUserId: string, input: CreateGroupInput): Promise<{ conversationId: string; committed: Committed<E> }>;
  getGroup(actorUserId: string, conversationId: string): Promise<GroupView>;
  listMembers(actorUserId: string, conversationId: string, pageSize: number, pageToken: string): Promise<MemberPage>;
  /** Null when title and description already are the asked ones: nothing committed. */
  updateGroupInfo(actorUserId: string, conversationId: string, title: string, description: string): Promise<Committed<E> | null>;
  addMembers(actorUserId: string, conversationId: string, userIds: readonly string[]): Promise<Committed<E>>;
  removeMember(actorUserId: string, conversationId: string, userId: string): Promise<Committed<E>>;
  leaveGroup(actorUserId: string, conversationId: string): Promise<Committed<E>>;
  /** Null when the member already has the role: nothing committed. */
  setMemberRole(actorUserId: string, conversationId: string, userId: string, role: Role | undefined): Promise<Committed<E> | null>;
  transferOwnership(actorUserId: string, conversationId: string, toUserId: string): Promise<Committed<E>>;
}

/**
 * Composes the pure rules with the ports. Every change is decided on a fresh read of the
 * group and applied only if the group's member version did not move meanwhile (re-read and
 * re-decided a few times otherwise), so no rule is ever checked against a stale state. A
 * committed change's system message is then delivered live (awaited; delivery never fails
 * the call, members get it on sync). A refusal changes nothing.
 */
export function groupUseCases<E>(ports: GroupPorts<E>, options: GroupUseCaseOptions): GroupUseCases<E> {
  const { store, users, delivery } = ports;
  const retry = options.retry ?? defaultRetryPolicy;
  const makeId = options.newGroupId ?? newGroupId;

  const listed = (ids: readonly string[]): string => `${ids.slice(0, 10).join(", ")}${ids.length > 10 ? ` and ${ids.length - 10} more` : ""}`;

  /**
   * Refuses with "user-not-found" when any of `userIds` has no account, and with "blocked"
   * when any of them blocks the actor.
   */
  async function requireAddable(actorUserId: string, userIds: readonly string[]): Promise<void> {
    if (userIds.length === 0) return;
    const screening = await users.screenForAdding(actorUserId, userIds);
    if (screening.unknown.length > 0) throw new GroupError("user-not-found", `no such user: ${listed(screening.unknown)}`);
    // Named nowhere: who blocks the caller is not the caller's to learn from a group add.
    if (screening.blockingActor.length > 0) throw new GroupError("blocked", "some of these users cannot be added by you");
  }

  async function change(
    actorUserId: string,
    conversationId: string,
    targets: readonly string[],
    decide: (state: GroupState) => GroupDecision | null | Promise<GroupDecision | null>,
  ): Promise<Committed<E> | null> {
    const readIds = [...new Set([actorUserId, ...targets])];
    const committed = await withOptimisticRetry(conversationId, retry, async () => {
      const state = await store.readState(conversationId, readIds);
      const decision = await decide(state);
      return decision ? store.apply(conversationId, actorUserId, decision) : null;
    });
    if (committed) await delivery.deliver(committed.event);
    return committed;
  }

  const committedOrThrow = (c: Committed<E> | null): Committed<E> => {
    if (!c) throw new Error("a rule that always changes the group decided nothing");
    return c;
  };

  return {
    async createGroup(actorUserId, input) {
      const decision = decideCreateGroup(actorUserId, input, options.settings);
      await requireAddable(actorUserId, decision.change.memberUserIds);
      // A new random id cannot be taken in practice; if the store says it is (a stale
      // version), the caller gets ABORTED and may simply try again.
      const conversationId = makeId();
      const committed = await store.apply(conversationId, actorUserId, decision);
      await delivery.deliver(committed.event);
      return { conversationId, committed };
    },

    async getGroup(actorUserId, conversationId) {
      const state = await store.readState(conversationId, [actorUserId]);
      return { state, membership: authorizeGetGroup(state, actorUserId) };
    },

    async listMembers(actorUserId, conversationId, pageSize, pageToken) {
      const state = await store.readState(conversationId, [actorUserId]);
      const size = authorizeListMembers(state, actorUserId, pageSize);
      return store.listMembers(conversationId, size, pageToken);
    },

    updateGroupInfo: (actorUserId, conversationId, title, description) =>
      change(actorUserId, conversationId, [], (state) => decideUpdateGroupInfo(state, actorUserId, title, description)),

    async addMembers(actorUserId, conversationId, userIds) {
      const ids = distinctUserIds(userIds, "user_ids");
      // Accounts are looked up once per user, not on every retry (a block made during the
      // retries is not seen: the window is one call long).
      const known = new Set<string>();
      return committedOrThrow(
        await change(actorUserId, conversationId, ids, async (state) => {
          const decision = decideAddMembers(state, actorUserId, ids, options.settings);
          const unchecked = decision.change.userIds.filter((u) => !known.has(u));
          await requireAddable(actorUserId, unchecked);
          for (const u of unchecked) known.add(u);
          return decision;
        }),
      );
    },

    async removeMember(actorUserId, conversationId, userId) {
      return committedOrThrow(await change(actorUserId, conversationId, [userId], (state) => decideRemoveMember(state, actorUserId, userId)));
    },

    async leaveGroup(actorUserId, conversationId) {
      return committedOrThrow(await change(actorUserId, conversationId, [], (state) => decideLeaveGroup(state, actorUserId)));
    },

    setMemberRole: (actorUserId, conversationId, userId, role) =>
      change(actorUserId, conversationId, [userId], (state) => decideSetMemberRole(state, actorUserId, userId, role)),

    async transferOwnership(actorUserId, conversationId, toUserId) {
      return committedOrThrow(await change(actorUserId, conversationId, [toUserId], (state) => decideTransferOwnership(state, actorUserId, toUserId)));
    },
  };
}
