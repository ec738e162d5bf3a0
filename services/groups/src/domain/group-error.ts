/**
 * Why a group rule refused a request. Closed set: the rpc layer maps each reason to exactly
 * one gRPC code (src/rpc/group-errors.ts), so the rules never speak gRPC.
 */
export type GroupErrorReason =
  /** The request is malformed whatever the group's state (lengths, empty ids, bad role). */
  | "invalid-argument"
  /** No conversation has this id. */
  | "group-not-found"
  /** The conversation exists but is a direct one: it has no roles and no membership changes. */
  | "not-a-group"
  /** The caller is not (or no longer) a member of the group. */
  | "not-a-member"
  /** The caller is a member but their role does not allow this. */
  | "forbidden"
  /** A user named in the request has no account. */
  | "user-not-found"
  /** A user to add blocks the caller. */
  | "blocked"
  /** The user the request acts on is not a current member. */
  | "target-not-member"
  /** Every user to add is a member already. */
  | "already-member"
  /** The change would take the group over its member limit. */
  | "group-full"
  /** The change is well-formed and allowed, but not in the group's present state (e.g. the owner leaving). */
  | "failed-precondition"
  /** Other changes kept moving the group's membership version; nothing was changed. */
  | "concurrent-change";

/** A refusal by the group rules. Nothing was changed when one is thrown. */
export class GroupError extends Error {
  constructor(
    readonly reason: GroupErrorReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "GroupError";
  }
}

/**
 * Thrown by a GroupStore when the group's membership version is no longer the one a change
 * was decided on: the change was not applied, and deciding again on a fresh read may succeed.
 */
export class StaleMemberVersionError extends Error {
  constructor(
    readonly conversationId: string,
    options?: { cause?: unknown },
  ) {
    super(`group ${conversationId} changed concurrently`, options);
    this.name = "StaleMemberVersionError";
  }
}
