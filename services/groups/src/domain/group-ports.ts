import type { GroupDecision, GroupState, Membership } from "./group-state.js";

/** A change as committed: its system message (of the transport's type `E`) and the group after it. */
export interface Committed<E> {
  readonly event: E;
  readonly memberVersion: bigint;
  readonly memberCount: number;
}

/** One page of current members, ordered by user id. */
export interface MemberPage {
  readonly members: readonly Membership[];
  /** Empty on the last page. */
  readonly nextPageToken: string;
  readonly memberCount: number;
}

/**
 * Where groups live: the message store, because a membership change and its system message
 * commit together in the conversation's seq.
 */
export interface GroupStore<E> {
  /**
   * The conversation's header and the memberships of `userIds` (those that ever were
   * members). Throws GroupError "group-not-found" when no conversation has this id.
   */
  readState(conversationId: string, userIds: readonly string[]): Promise<GroupState>;
  /**
   * Commits the decided change with its system message, made by `actorUserId`. Throws
   * StaleMemberVersionError, having changed nothing, when the group's member version is no
   * longer the decision's.
   */
  apply(conversationId: string, actorUserId: string, decision: GroupDecision): Promise<Committed<E>>;
  /** Pages through current members (authorization is the caller's job). */
  listMembers(conversationId: string, pageSize: number, pageToken: string): Promise<MemberPage>;
}

/** Why some users may not be added by an actor. */
export interface AddScreening {
  /** Ids that belong to no account. */
  readonly unknown: readonly string[];
  /** Users who block the actor: they cannot be added by them. */
  readonly blockingActor: readonly string[];
}

/** The accounts: which users exist, and who accepts being added by whom. */
export interface UserDirectory {
  /** Screens `userIds` for being added to a group by `actorUserId`. */
  screenForAdding(actorUserId: string, userIds: readonly string[]): Promise<AddScreening>;
}

/** Live delivery of committed system messages to the members' sessions. */
export interface EventDelivery<E> {
  /**
   * Pushes a committed event to the members' live sessions. Never throws: a failed push is
   * the adapter's to log, and members still get the event when they sync.
   */
  deliver(event: E): Promise<void>;
}

/** Everything the group use cases call, bound to one incoming call (its credentials, cancellation). */
export interface GroupPorts<E> {
  readonly store: GroupStore<E>;
  readonly users: UserDirectory;
  readonly delivery: EventDelivery<E>;
}
