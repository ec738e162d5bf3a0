import type { Ciphertext, MediaRef, SystemEvent } from "@messenger/proto/chat/v1/types";
import type { SegmentIndexEntry } from "../archive/segment-index.js";
import type { DomainErrorKind } from "../domain/errors.js";
import type { GroupChangeInput } from "../domain/group-change.js";

/** A message body: exactly one kind. Only the store writes `system` bodies. */
export type MessageBody =
  | { readonly kind: "text"; readonly text: string }
  | { readonly kind: "media"; readonly media: MediaRef }
  | { readonly kind: "ciphertext"; readonly ciphertext: Ciphertext }
  | { readonly kind: "system"; readonly system: SystemEvent };

/** A stored message. Times are epoch milliseconds. */
export interface MessageRecord {
  readonly id: string;
  readonly conversationId: string;
  readonly seq: number;
  /** The author; for a system message, the actor of the change. */
  readonly senderUserId: string;
  /** Empty for a system message. */
  readonly senderDeviceId: string;
  readonly clientMessageId: string;
  readonly body: MessageBody;
  /** 0 when it answers nothing. */
  readonly replyToSeq: number;
  /** What the sender's device claims; undefined when it said nothing. */
  readonly clientSentAt: number | undefined;
  readonly sentAt: number;
}

export type ConversationKind = "direct" | "group";
export type RetentionMode = "permanent" | "store_and_forward" | "disappearing";
export type MemberRole = "owner" | "admin" | "member";

/** How long a conversation's messages are kept; ttlSeconds is 0 unless disappearing. */
export interface RetentionPolicy {
  readonly mode: RetentionMode;
  readonly ttlSeconds: number;
}

/** The retention of a conversation created without one. */
export const permanentRetention: RetentionPolicy = { mode: "permanent", ttlSeconds: 0 };

/** A conversation's head: one row, placed by conversation id. */
export interface ConversationRecord {
  readonly id: string;
  readonly kind: ConversationKind;
  readonly title: string;
  readonly description: string;
  readonly lastSeq: number;
  readonly lastActivityAt: number;
  readonly createdAt: number;
  /** Nothing below this seq exists any more; 0 while nothing was deleted. */
  readonly minSeq: number;
  /** Bumped by every membership, role or info change; never 0 once the conversation exists. */
  readonly memberVersion: number;
  /** Current members. */
  readonly memberCount: number;
  /** Bumped whenever a member's receipt moves through a cursor update. */
  readonly receiptsVersion: number;
  readonly retention: RetentionPolicy;
  /**
   * True while one of a direct conversation's two users blocks the other: nobody may send
   * into it. Always false for a group.
   */
  readonly blocked: boolean;
}

/** A user's membership as it stands (current, or the last one for a former member). */
export interface MemberRecord {
  readonly conversationId: string;
  readonly userId: string;
  /** Undefined in a direct conversation and for a former member. */
  readonly role: MemberRole | undefined;
  readonly active: boolean;
  /** Where the current (or last) range starts. */
  readonly joinedSeq: number;
  /** Where the last range ended (inclusive) for a former member; undefined while active. */
  readonly leftSeq: number | undefined;
  /** When the last range ended; undefined while active. */
  readonly leftAt: number | undefined;
  readonly deliveredSeq: number;
  readonly readSeq: number;
}

/** The user was a member over fromSeq..toSeq, both inclusive; toSeq undefined while open. */
export interface MemberRangeRecord {
  readonly userId: string;
  readonly fromSeq: number;
  readonly toSeq: number | undefined;
}

/** One member's delivered/read watermarks (the max over that member's devices). */
export interface ReceiptRecord {
  readonly userId: string;
  readonly deliveredSeq: number;
  readonly readSeq: number;
}

/** Receipts aggregated over current members. */
export interface ReceiptSummaryRecord {
  readonly memberCount: number;
  readonly deliveredAllSeq: number;
  readonly readAllSeq: number;
}

/** One device's own watermarks in a conversation. */
export interface DeviceCursor {
  readonly deliveredSeq: number;
  readonly readSeq: number;
}

/** A conversation of the user's index with its head, the user's membership and its folder. */
export interface UserConversation {
  readonly conversation: ConversationRecord;
  readonly member: MemberRecord;
  /** True while it is one of the user's pending message requests (not in their inbox). */
  readonly request: boolean;
  /**
   * The conversation's last seq when the user deleted the request (0 when never deleted):
   * the request stays out of the user's requests until a message goes beyond it.
   */
  readonly hiddenSeq: number;
}

/** A seq window of a conversation. */
export interface MessageRange {
  readonly afterSeq?: number;
  readonly beforeSeq?: number;
  readonly limit: number;
  readonly direction: "forward" | "backward";
}

/** What to append (already validated; never a system body). */
export interface AppendInput {
  readonly conversationId: string;
  readonly senderUserId: string;
  readonly senderDeviceId: string;
  readonly clientMessageId: string;
  readonly body: MessageBody;
  readonly replyToSeq: number;
  readonly clientSentAt: number | undefined;
  readonly now: number;
}

/**
 * One append's outcome: stored; refused for what it is (not a member, unknown conversation,
 * a blocked direct conversation, reply_to_seq beyond the end; the rest of the batch goes on); or failed to be stored
 * (storage trouble: it and every later item of the batch are not stored).
 */
export type AppendOutcome =
  | { readonly ok: true; readonly message: MessageRecord; readonly duplicate: boolean; readonly memberVersion: number; readonly memberCount: number }
  | { readonly ok: false; readonly refused: true; readonly kind: DomainErrorKind; readonly error: string }
  | { readonly ok: false; readonly refused: false; readonly error: string };

/** A cursor update's outcome. */
export interface CursorOutcome {
  /** True when the member's receipt moved. */
  readonly changed: boolean;
  readonly receipt: ReceiptRecord;
  readonly receiptsVersion: number;
  readonly summary: ReceiptSummaryRecord;
  readonly memberVersion: number;
}

/** A committed group change. */
export interface GroupChangeOutcome {
  readonly event: MessageRecord;
  readonly memberVersion: number;
  readonly memberCount: number;
}

/** A retention change, by whom, when. */
export interface RetentionChangeInput {
  readonly conversationId: string;
  readonly actorUserId: string;
  readonly retention: { readonly mode: RetentionMode; readonly ttlSeconds: number };
  readonly now: number;
}

/** One device's delivered watermark in a conversation. */
export interface DeviceDelivered {
  readonly userId: string;
  readonly deviceId: string;
  readonly deliveredSeq: number;
}

/** What one retention pass deleted. */
export interface ExpiredDeletion {
  /** Messages deleted, live and archived (seqs: they are contiguous above min_seq). */
  readonly deleted: number;
  /** Conversations whose min_seq moved. */
  readonly conversations: number;
  /** True when the limit stopped the pass before everything due was deleted. */
  readonly more: boolean;
}

/**
 * A stored message whose push notifications may not have been queued yet: written with the
 * message, deleted once the router queued them (see HistoryRepository.claimPushOutbox).
 */
export interface PushOutboxEntry {
  readonly conversationId: string;
  readonly seq: number;
  readonly messageId: string;
  /** The author; for a system message, the actor of the change. */
  readonly senderUserId: string;
  /** When the message was stored (epoch milliseconds). */
  readonly sentAt: number;
}

/** An outbox entry's key. */
export interface PushOutboxKey {
  readonly conversationId: string;
  readonly seq: number;
}

/** What claimPushOutbox leased, and how far behind the outbox is. */
export interface PushOutboxClaim {
  /** The entries now leased to the caller, oldest first. */
  readonly entries: PushOutboxEntry[];
  /** sentAt of the oldest entry in the whole outbox, leased or not; undefined when it is empty. */
  readonly oldestSentAt: number | undefined;
}

/**
 * The history port. Every adapter guarantees:
 * - append assigns seq = lastSeq + 1 atomically with the insert AND with the check that the
 *   sender is an active member AND that the conversation is not blocked, so once a removal
 *   or a block is committed the sends after it are refused; a repeat of (conversation, sender user, sender device, client message id)
 *   returns the stored message with duplicate = true and changes nothing;
 * - a message costs O(1) writes whatever the group size (message, conversation head, the
 *   sender's member row, its push outbox entry); nothing is written per member or per user
 *   index row;
 * - every new message (sent, or the system message of a change) has a push outbox entry
 *   written in the same write as the message, so its push notifications survive a router
 *   that dies or a queue that is down before they were queued; a duplicate writes none;
 * - applyGroupChange checks the expected member version and applies the change, its system
 *   message and the head update atomically, or changes nothing;
 * - the relation of the two users of a direct conversation (who blocks whom, whether they
 *   are contacts) is kept by the conversation's id (directConversationId) whether or not the
 *   conversation exists, and is read inside the write of openDirect and of append: no cache
 *   anywhere can let a send through after setDirectRelation is answered, and a conversation
 *   created after the pair became contacts is never a request;
 * - conversations, members, ranges, messages and relations are addressed by conversation id;
 *   the user index and device cursors by user id (a sharded adapter places them so).
 * Refusals are thrown (or returned, for append) as DomainError codes.
 */
export interface HistoryRepository {
  /**
   * The direct conversation of a pair, created on first use (one per pair, even under races).
   * PERMISSION_DENIED when the peer blocks the opener, whether or not it exists. On creation
   * it sits in the opener's inbox and, when `peerLandsInRequests` and no setDirectRelation
   * has made the pair contacts (read in the same write: the caller's flag may predate it),
   * in the peer's message requests (else their inbox), with `retention` (permanent when
   * absent; the caller checked it) written with its head; an existing one is returned as it
   * is, its retention unchanged.
   */
  openDirect(openerUserId: string, peerUserId: string, now: number, peerLandsInRequests: boolean, retention?: RetentionPolicy): Promise<ConversationRecord>;
  /**
   * Records the user's stance toward the peer in their direct conversation, existing or not,
   * replacing the user's previous one: `blocking` (then nobody may send into it, and the peer
   * may not open it); `contact` (mutual: either user's record makes the pair contacts) takes
   * an existing conversation out of both users' message requests and files one created later
   * in both inboxes. INVALID_ARGUMENT when user and peer are one.
   */
  setDirectRelation(userId: string, peerUserId: string, blocking: boolean, contact: boolean): Promise<void>;
  /**
   * Moves a conversation from the user's message requests to their inbox (nothing when it is
   * already there). NOT_FOUND when it is not in the user's index.
   */
  acceptRequest(userId: string, conversationId: string): Promise<void>;
  /**
   * Hides a message request until a message goes beyond the conversation's current last seq.
   * NOT_FOUND when it is not in the user's index, FAILED_PRECONDITION when it is in the inbox.
   */
  deleteRequest(userId: string, conversationId: string): Promise<void>;
  getConversation(conversationId: string): Promise<ConversationRecord | undefined>;
  /** The user's membership row, current or former; undefined when never a member. */
  getMember(conversationId: string, userId: string): Promise<MemberRecord | undefined>;
  /** The membership rows of the named users that ever were members (any order). */
  getMembers(conversationId: string, userIds: readonly string[]): Promise<MemberRecord[]>;
  /** Current members ordered by user id, strictly after `afterUserId`. */
  listActiveMembers(conversationId: string, afterUserId: string, limit: number): Promise<MemberRecord[]>;
  /** Every range of the conversation (current and past), by user id then from_seq. */
  memberRanges(conversationId: string): Promise<MemberRangeRecord[]>;
  /** One user's ranges, ascending. */
  rangesOf(conversationId: string, userId: string): Promise<MemberRangeRecord[]>;
  /**
   * Changes a conversation's retention, with its RetentionChanged system message, in one
   * write: a current member of a direct conversation, an admin or the owner of a group.
   * NOT_FOUND for an unknown conversation, PERMISSION_DENIED for anyone else.
   */
  setRetention(input: RetentionChangeInput): Promise<GroupChangeOutcome>;
  /**
   * Deletes up to `limit` messages that their conversation's retention says are gone by
   * `now` (disappearing: sent more than its TTL ago), oldest first, with their media
   * references, and moves each such conversation's min_seq above what it deleted.
   */
  deleteExpired(now: number, limit: number): Promise<ExpiredDeletion>;
  /**
   * Store-and-forward conversations that still hold messages (last seq at or above min_seq),
   * in id order strictly after `afterConversationId`.
   */
  storeAndForwardHeld(afterConversationId: string, limit: number): Promise<ConversationRecord[]>;
  /**
   * The delivered watermarks in the conversation of the named devices (point reads by user id
   * and device id); a device that has none is absent.
   */
  deliveredByDevice(conversationId: string, devices: readonly { readonly userId: string; readonly deviceId: string }[]): Promise<DeviceDelivered[]>;
  /**
   * Deletes a conversation's messages from min_seq through `throughSeq` (capped at its last
   * seq) with their media references, and moves min_seq above them (archived segments below
   * it are then left to `segmentsBelowMinSeq`); returns how many seqs that took. Nothing
   * happens (0) unless its retention is still `mode`: the caller decided on what it read before.
   */
  deleteThrough(conversationId: string, throughSeq: number, mode: RetentionMode): Promise<number>;
  /** Disappearing conversations whose oldest remaining messages are archived (a segment reaches min_seq), by id after `afterConversationId`. */
  archivedDisappearing(afterConversationId: string, limit: number): Promise<ConversationRecord[]>;
  /** The conversation's archived segments, ascending by fromSeq. */
  segmentIndex(conversationId: string): Promise<SegmentIndexEntry[]>;
  /**
   * Permanent conversations with at least `minMessages` live messages above their archive
   * boundary (max(min_seq, highest archived seq + 1, 1)), by id after `afterConversationId`,
   * with that boundary.
   */
  archiveCandidates(afterConversationId: string, limit: number, minMessages: number): Promise<{ conversationId: string; fromSeq: number }[]>;
  /**
   * Records an archived segment and deletes the live rows it holds, in one write (their media
   * references stay). FAILED_PRECONDITION unless it starts at the archive boundary; ABORTED
   * unless the live rows fromSeq..toSeq are exactly `count` (something was deleted since they
   * were read). NOT_FOUND for an unknown conversation.
   */
  commitSegment(entry: SegmentIndexEntry): Promise<void>;
  /** Segments that start below their conversation's min_seq (wholly or partly deleted by retention), up to `limit`. */
  segmentsBelowMinSeq(limit: number): Promise<SegmentIndexEntry[]>;
  /**
   * Replaces a segment's index entry with `replacement` (what is left of it), or drops it,
   * and puts the old blob key on the garbage list, in one write. ABORTED when the index no
   * longer holds `old` as it was.
   */
  replaceSegment(old: SegmentIndexEntry, replacement: SegmentIndexEntry | undefined): Promise<void>;
  /** Blob keys no index names any more, to delete from the blob store. */
  archiveGarbage(limit: number): Promise<string[]>;
  /** Forgets garbage keys whose blobs were deleted. */
  forgetGarbage(keys: readonly string[]): Promise<void>;
  /** Up to `limit` stored messages whose body references the media, by conversation then seq. */
  mediaReferences(mediaId: string, limit: number): Promise<{ conversationId: string; seq: number }[]>;
  /** The ids among `mediaIds` that at least one stored message references. */
  referencedMedia(mediaIds: readonly string[]): Promise<Set<string>>;
  /**
   * Appends in the order given. A refused item does not stop the rest; once one fails to be
   * stored, it and every later one come back not stored, so what is stored keeps the order.
   */
  append(inputs: readonly AppendInput[]): Promise<AppendOutcome[]>;
  /** Commits a group change with its system message (see the port's guarantees). */
  applyGroupChange(input: GroupChangeInput): Promise<GroupChangeOutcome>;
  /**
   * Messages with afterSeq < seq < beforeSeq, returned ascending. "forward" takes the
   * `limit` lowest of them, "backward" the `limit` highest. No visibility filter.
   */
  listMessages(conversationId: string, range: MessageRange): Promise<MessageRecord[]>;
  /** The messages at the given seqs that exist (any order). */
  messagesAt(conversationId: string, seqs: readonly number[]): Promise<MessageRecord[]>;
  /**
   * Moves a device's watermarks forward (0 leaves one as it is) and recomputes the member's
   * receipt; a read implies delivered. NOT_FOUND for an unknown conversation,
   * PERMISSION_DENIED for a user who never was a member, OUT_OF_RANGE beyond the newest seq
   * the user may see (a former member's end of range).
   */
  updateCursor(conversationId: string, userId: string, deviceId: string, deliveredSeq: number, readSeq: number): Promise<CursorOutcome>;
  /** The device's watermarks in the listed conversations; missing ones are absent. */
  deviceCursors(userId: string, deviceId: string, conversationIds: readonly string[]): Promise<Map<string, DeviceCursor>>;
  /** Current members' receipts, by user id. */
  receipts(conversationId: string): Promise<ReceiptRecord[]>;
  /** The aggregate over current members. */
  receiptSummary(conversationId: string): Promise<ReceiptSummaryRecord>;
  /**
   * Current members other than `exceptUserId` who joined at or before `seq` and whose read
   * watermark is ≥ seq: a page by user id, the count, and how many such members there are
   * whatever their watermark (`eligible`: the "of n" in "read by k of n").
   */
  readBy(conversationId: string, seq: number, exceptUserId: string, afterUserId: string, limit: number): Promise<{ userIds: string[]; count: number; eligible: number }>;
  /**
   * The user's conversations (the user index) in conversation id order, strictly after
   * `afterConversationId`, each with its head and the user's membership.
   */
  userConversations(userId: string, afterConversationId: string, limit: number): Promise<UserConversation[]>;
  /** One conversation of the user's index; undefined when it is not in it. */
  userConversation(userId: string, conversationId: string): Promise<UserConversation | undefined>;
  /**
   * Leases up to `limit` push outbox entries stored before `olderThan` whose lease expired
   * (or that never had one), oldest first: each one's lease is set to `now + leaseMs` in the
   * same write that selects it, so two callers never hold the same entry at once. An entry
   * stays until ackPushOutbox deletes it: one whose caller died is leased again once its
   * lease expired.
   */
  claimPushOutbox(now: number, leaseMs: number, olderThan: number, limit: number): Promise<PushOutboxClaim>;
  /** Deletes the named push outbox entries (their notifications were queued); unknown keys are ignored. */
  ackPushOutbox(keys: readonly PushOutboxKey[]): Promise<void>;
  close(): Promise<void>;
}
