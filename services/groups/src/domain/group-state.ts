import { GroupError } from "./group-error.js";

/** What a group member may do: members read and send; admins also manage members and info; the owner also sets roles. */
export type Role = "owner" | "admin" | "member";

/** One user's membership as it stands: current, or their last one when `active` is false. */
export interface Membership {
  readonly userId: string;
  readonly role: Role;
  /** True while they are a member; false for a former member. */
  readonly active: boolean;
  /** The seq of the message that started their current (or last) membership. */
  readonly joinedSeq: bigint;
}

/** A conversation's header and the memberships of the users a decision needs, as read from the store. */
export interface GroupState {
  readonly conversationId: string;
  readonly kind: "group" | "direct";
  readonly title: string;
  readonly description: string;
  /** Moves with every membership or group change; a change is applied only if it still matches. */
  readonly memberVersion: bigint;
  /** Current members. */
  readonly memberCount: number;
  readonly lastSeq: bigint;
  /** The memberships of the users that were asked for and ever were members, by user id. */
  readonly members: ReadonlyMap<string, Membership>;
}

/**
 * How long the server keeps a group's messages (ttlSeconds counts for "disappearing" only).
 * The store checks it with the rules of SetRetention, where they live: this service does
 * not repeat them.
 */
export interface GroupRetention {
  readonly mode: "permanent" | "store_and_forward" | "disappearing";
  readonly ttlSeconds: number;
}

/** A change to commit, together with its system message, in the group's seq. */
export type GroupChange =
  | {
      readonly kind: "create";
      readonly title: string;
      readonly description: string;
      readonly memberUserIds: readonly string[];
      readonly retention: GroupRetention;
    }
  | { readonly kind: "add-members"; readonly userIds: readonly string[] }
  | { readonly kind: "remove-member"; readonly userId: string }
  | { readonly kind: "leave" }
  | { readonly kind: "set-role"; readonly userId: string; readonly role: "admin" | "member" }
  | { readonly kind: "transfer-ownership"; readonly toUserId: string }
  | { readonly kind: "update-info"; readonly title: string; readonly description: string };

/** What a rule decided: this change, valid only while the group is at `expectedMemberVersion`. */
export interface GroupDecision<C extends GroupChange = GroupChange> {
  readonly change: C;
  readonly expectedMemberVersion: bigint;
}

/** The change of one kind. */
export type ChangeOf<K extends GroupChange["kind"]> = Extract<GroupChange, { kind: K }>;

/** Limits the rules enforce; `maxGroupMembers` is configured (MAX_GROUP_MEMBERS). */
export interface GroupSettings {
  /** Current members a group may have, the owner included. */
  readonly maxGroupMembers: number;
}

/** Refuses unless the conversation is a group (a direct conversation has no roles or membership changes). */
export function requireGroup(state: GroupState): void {
  if (state.kind !== "group") throw new GroupError("not-a-group", `conversation ${state.conversationId} is a direct conversation, not a group`);
}

/** The actor's current membership; refuses a user who never was or no longer is a member. */
export function requireActiveMember(state: GroupState, userId: string): Membership {
  const m = state.members.get(userId);
  if (!m?.active) throw new GroupError("not-a-member", `you are not a member of group ${state.conversationId}`);
  return m;
}

/** The actor's membership if they must be the owner or an admin (those who add and remove members and change the info). */
export function requireManager(state: GroupState, userId: string, what: string): Membership {
  const m = requireActiveMember(state, userId);
  if (m.role !== "owner" && m.role !== "admin") throw new GroupError("forbidden", `only the owner and admins may ${what}`);
  return m;
}

/** The actor's membership if they are the owner. */
export function requireOwner(state: GroupState, userId: string, what: string): Membership {
  const m = requireActiveMember(state, userId);
  if (m.role !== "owner") throw new GroupError("forbidden", `only the owner may ${what}`);
  return m;
}

/** The current membership of the user a change acts on; refuses someone who is not a current member. */
export function requireTarget(state: GroupState, userId: string): Membership {
  const m = state.members.get(userId);
  if (!m?.active) throw new GroupError("target-not-member", `user ${userId} is not a member of group ${state.conversationId}`);
  return m;
}
