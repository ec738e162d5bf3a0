import { randomUUID } from "node:crypto";
import type { SystemEvent } from "@messenger/proto/chat/v1/types";
import type Database from "better-sqlite3";
import { limits } from "../domain/limits.js";
import type { SegmentIndexEntry } from "../archive/segment-index.js";
import { aborted, DomainError, type DomainErrorKind, failedPrecondition, invalidArgument, notFound, permissionDenied } from "../domain/errors.js";
import { planGroupChange, usersInvolved, type GroupChangeInput } from "../domain/group-change.js";
import { duePrefix, retentionChangedEvent } from "../domain/retention.js";
import { systemMessageRecord } from "../domain/system-message.js";
import { directConversationId } from "./direct-conversation-id.js";
import type {
  AppendInput,
  AppendOutcome,
  ConversationRecord,
  CursorOutcome,
  GroupChangeOutcome,
  MemberRecord,
  MessageRecord,
  ExpiredDeletion,
  PushOutboxClaim,
  PushOutboxKey,
  ReceiptRecord,
  ReceiptSummaryRecord,
  RetentionChangeInput,
  RetentionMode,
  RetentionPolicy,
} from "./history-repository.js";
import { encodeBody } from "./message-body-codec.js";
import { conversationReader, toMember, toMessage, userIndexRowReader, type MemberRow, type MessageRow } from "./sqlite-schema.js";

/** A write, as it crosses from the store's thread to the writer's. */
export type WriteOp =
  | {
      readonly kind: "openDirect";
      readonly opener: string;
      readonly peer: string;
      readonly now: number;
      readonly peerLandsInRequests: boolean;
      readonly retention: RetentionPolicy;
    }
  | { readonly kind: "append"; readonly inputs: readonly AppendInput[] }
  | {
      readonly kind: "updateCursor";
      readonly conversationId: string;
      readonly userId: string;
      readonly deviceId: string;
      readonly deliveredSeq: number;
      readonly readSeq: number;
    }
  | { readonly kind: "applyGroupChange"; readonly input: GroupChangeInput }
  | { readonly kind: "setDirectRelation"; readonly userId: string; readonly peerUserId: string; readonly blocking: boolean; readonly contact: boolean }
  | { readonly kind: "acceptRequest"; readonly userId: string; readonly conversationId: string }
  | { readonly kind: "deleteRequest"; readonly userId: string; readonly conversationId: string }
  | { readonly kind: "setRetention"; readonly input: RetentionChangeInput }
  | { readonly kind: "deleteExpired"; readonly now: number; readonly limit: number }
  | { readonly kind: "deleteThrough"; readonly conversationId: string; readonly throughSeq: number; readonly mode: RetentionMode }
  | { readonly kind: "commitSegment"; readonly entry: SegmentIndexEntry }
  | { readonly kind: "replaceSegment"; readonly old: SegmentIndexEntry; readonly replacement: SegmentIndexEntry | undefined; readonly now: number }
  | { readonly kind: "forgetGarbage"; readonly keys: readonly string[] }
  | { readonly kind: "claimPushOutbox"; readonly now: number; readonly leaseMs: number; readonly olderThan: number; readonly limit: number }
  | { readonly kind: "ackPushOutbox"; readonly keys: readonly PushOutboxKey[] };

/** What each write returns. */
export interface WriteResults {
  openDirect: ConversationRecord;
  append: AppendOutcome[];
  updateCursor: CursorOutcome;
  applyGroupChange: GroupChangeOutcome;
  setDirectRelation: void;
  acceptRequest: void;
  deleteRequest: void;
  setRetention: GroupChangeOutcome;
  deleteExpired: ExpiredDeletion;
  deleteThrough: number;
  commitSegment: void;
  replaceSegment: void;
  forgetGarbage: void;
  claimPushOutbox: PushOutboxClaim;
  ackPushOutbox: void;
}

/**
 * One write's outcome; a failed write carries its error message, and its domain code when it
 * was refused (a DomainError does not survive the thread boundary as a class).
 */
export type WriteOutcome =
  | { readonly ok: true; readonly value: WriteResults[WriteOp["kind"]] }
  | { readonly ok: false; readonly message: string; readonly kind?: DomainErrorKind };

/**
 * The history writes on one connection. `commit` runs a batch in ONE transaction, so one
 * fsync makes the whole batch durable (group commit); each write is its own savepoint (a
 * nested better-sqlite3 transaction), so one that fails rolls back alone. Every check that
 * must be atomic with a write (membership with the seq, the member version with a group
 * change) runs inside that write's savepoint.
 */
/** Rows written by the writes of each kind, for the store's write-cost metric. */
export type RowsWritten = Record<WriteOp["kind"], number>;

/** Nothing written yet, per kind of write (both adapters count their writes this way). */
export const noRowsWritten = (): RowsWritten => ({
  openDirect: 0,
  append: 0,
  updateCursor: 0,
  applyGroupChange: 0,
  setDirectRelation: 0,
  acceptRequest: 0,
  deleteRequest: 0,
  setRetention: 0,
  deleteExpired: 0,
  deleteThrough: 0,
  commitSegment: 0,
  replaceSegment: 0,
  forgetGarbage: 0,
  claimPushOutbox: 0,
  ackPushOutbox: 0,
});

export function historyWrites(
  db: Database.Database,
  opts: { largeGroupThreshold: number } = { largeGroupThreshold: limits.defaultLargeGroupThreshold },
): { commit(ops: readonly WriteOp[]): WriteOutcome[]; takeRowsWritten(): RowsWritten } {
  const totalChanges = db.prepare<[], number>("SELECT total_changes()").pluck();
  let rows = noRowsWritten();
  const conversation = conversationReader(db);
  const indexRow = userIndexRowReader(db);
  const q = {
    insertConversation: db.prepare(
      `INSERT OR IGNORE INTO conversations (id, kind, title, description, last_seq, last_activity_at, created_at, min_seq, member_version, member_count, receipts_version, retention_mode, retention_ttl_seconds)
       VALUES (?, ?, ?, ?, 0, ?, ?, 0, ?, ?, 0, ?, ?)`,
    ),
    // A direct conversation starts with the blocks already recorded for the pair.
    insertDirect: db.prepare<{ id: string; now: number; memberCount: number; retentionMode: RetentionMode; retentionTtlSeconds: number }>(
      `INSERT OR IGNORE INTO conversations (id, kind, title, description, last_seq, last_activity_at, created_at, min_seq, member_version, member_count, receipts_version, retention_mode, retention_ttl_seconds, blocked)
       VALUES (@id, 'direct', '', '', 0, @now, @now, 0, 1, @memberCount, 0, @retentionMode, @retentionTtlSeconds,
         (SELECT count(*) FROM direct_relations WHERE conversation_id = @id AND blocking = 1))`,
    ),
    blockOf: db.prepare<[string, string], { one: number }>("SELECT 1 AS one FROM direct_relations WHERE conversation_id = ? AND user_id = ? AND blocking = 1"),
    // Being contacts is mutual: either user's row saying so is enough.
    contactOf: db.prepare<[string], { one: number }>("SELECT 1 AS one FROM direct_relations WHERE conversation_id = ? AND contact = 1 LIMIT 1"),
    putRelation: db.prepare(
      `INSERT INTO direct_relations (conversation_id, user_id, blocking, contact) VALUES (?, ?, ?, ?)
       ON CONFLICT (conversation_id, user_id) DO UPDATE SET blocking = excluded.blocking, contact = excluded.contact`,
    ),
    dropRelation: db.prepare("DELETE FROM direct_relations WHERE conversation_id = ? AND user_id = ?"),
    recountBlocks: db.prepare<{ id: string }>(
      `UPDATE conversations SET blocked = (SELECT count(*) FROM direct_relations WHERE conversation_id = @id AND blocking = 1)
       WHERE id = @id AND blocked <> (SELECT count(*) FROM direct_relations WHERE conversation_id = @id AND blocking = 1)`,
    ),
    leaveRequests: db.prepare("UPDATE user_conversations SET request = 0 WHERE user_id = ? AND conversation_id = ? AND request = 1"),
    hideRequest: db.prepare("UPDATE user_conversations SET hidden_seq = ? WHERE user_id = ? AND conversation_id = ?"),
    member: db.prepare<[string, string], MemberRow>("SELECT * FROM members WHERE conversation_id = ? AND user_id = ?"),
    joinMember: db.prepare(
      `INSERT INTO members (conversation_id, user_id, role, active, joined_seq, left_seq, left_at, delivered_seq, read_seq)
       VALUES (@conversationId, @userId, @role, 1, @seq, NULL, NULL, @floor, @floor)
       ON CONFLICT (conversation_id, user_id) DO UPDATE SET role = excluded.role, active = 1, joined_seq = excluded.joined_seq,
         left_seq = NULL, left_at = NULL, delivered_seq = max(delivered_seq, excluded.delivered_seq), read_seq = max(read_seq, excluded.read_seq)`,
    ),
    endMember: db.prepare("UPDATE members SET active = 0, role = NULL, left_seq = ?, left_at = ? WHERE conversation_id = ? AND user_id = ?"),
    setRole: db.prepare("UPDATE members SET role = ? WHERE conversation_id = ? AND user_id = ?"),
    openRange: db.prepare("INSERT INTO member_ranges (conversation_id, user_id, from_seq, to_seq) VALUES (?, ?, ?, NULL)"),
    closeRange: db.prepare("UPDATE member_ranges SET to_seq = ? WHERE conversation_id = ? AND user_id = ? AND to_seq IS NULL"),
    indexUser: db.prepare("INSERT OR IGNORE INTO user_conversations (user_id, conversation_id, joined_at, request) VALUES (?, ?, ?, ?)"),
    byClientId: db.prepare<[string, string, string, string], MessageRow>(
      "SELECT * FROM messages WHERE conversation_id = ? AND sender_user_id = ? AND sender_device_id = ? AND client_message_id = ?",
    ),
    // The block check rides on the seq bump itself: no extra read or write per message.
    bumpSeq: db.prepare<[number, string], { last_seq: number; member_version: number; member_count: number }>(
      "UPDATE conversations SET last_seq = last_seq + 1, last_activity_at = ? WHERE id = ? AND blocked = 0 RETURNING last_seq, member_version, member_count",
    ),
    retentionAfterChange: db.prepare<[number, number, string, number, string], { member_version: number }>(
      "UPDATE conversations SET last_seq = ?, last_activity_at = ?, retention_mode = ?, retention_ttl_seconds = ? WHERE id = ? RETURNING member_version",
    ),
    disappearing: db.prepare<[], { id: string; min_seq: number; retention_ttl_seconds: number }>(
      "SELECT id, min_seq, retention_ttl_seconds FROM conversations WHERE retention_mode = 'disappearing' AND retention_ttl_seconds > 0 ORDER BY id",
    ),
    oldestFrom: db.prepare<[string, number, number], { seq: number; sent_at: number }>(
      "SELECT seq, sent_at FROM messages WHERE conversation_id = ? AND seq >= ? ORDER BY seq LIMIT ?",
    ),
    deleteMessagesThrough: db.prepare("DELETE FROM messages WHERE conversation_id = ? AND seq <= ?"),
    deleteMediaRefsThrough: db.prepare("DELETE FROM message_media WHERE conversation_id = ? AND seq <= ?"),
    setMinSeq: db.prepare("UPDATE conversations SET min_seq = max(min_seq, ?) WHERE id = ?"),
    countFrom: db.prepare<[string, number, number], { n: number }>("SELECT count(*) AS n FROM messages WHERE conversation_id = ? AND seq >= ? AND seq <= ?"),
    archivedThrough: db.prepare<[string], { archived_through: number }>("SELECT archived_through FROM conversations WHERE id = ?"),
    insertSegment: db.prepare<[string, number, number, string, string, number, number, number, number]>(
      `INSERT INTO archive_segments (conversation_id, from_seq, to_seq, blob_key, sha256, message_count, bytes, first_sent_at, last_sent_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    deleteSegment: db.prepare<[string, number, string]>("DELETE FROM archive_segments WHERE conversation_id = ? AND from_seq = ? AND blob_key = ?"),
    deleteMessagesRange: db.prepare<[string, number, number]>("DELETE FROM messages WHERE conversation_id = ? AND seq >= ? AND seq <= ?"),
    setArchivedThrough: db.prepare<[number, string]>("UPDATE conversations SET archived_through = max(archived_through, ?) WHERE id = ?"),
    putGarbage: db.prepare<[string, number]>("INSERT OR IGNORE INTO archive_garbage (blob_key, since) VALUES (?, ?)"),
    forgetGarbage: db.prepare<[string]>("DELETE FROM archive_garbage WHERE blob_key = ?"),
    insertMediaRef: db.prepare("INSERT INTO message_media (conversation_id, seq, media_id) VALUES (?, ?, ?)"),
    insertMessage: db.prepare(
      `INSERT INTO messages (conversation_id, seq, id, sender_user_id, sender_device_id, client_message_id, body_kind, text, body, reply_to_seq, client_sent_at, sent_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    insertOutbox: db.prepare<[string, number, string, string, number]>(
      "INSERT INTO push_outbox (conversation_id, seq, message_id, sender_user_id, sent_at, claimed_until) VALUES (?, ?, ?, ?, ?, 0)",
    ),
    claimableOutbox: db.prepare<[number, number, number], { conversation_id: string; seq: number; message_id: string; sender_user_id: string; sent_at: number }>(
      "SELECT conversation_id, seq, message_id, sender_user_id, sent_at FROM push_outbox WHERE sent_at < ? AND claimed_until <= ? ORDER BY sent_at LIMIT ?",
    ),
    leaseOutbox: db.prepare<[number, string, number]>("UPDATE push_outbox SET claimed_until = ? WHERE conversation_id = ? AND seq = ?"),
    oldestOutbox: db.prepare<[], { sent_at: number | null }>("SELECT min(sent_at) AS sent_at FROM push_outbox"),
    deleteOutbox: db.prepare<[string, number]>("DELETE FROM push_outbox WHERE conversation_id = ? AND seq = ?"),
    senderSaw: db.prepare(
      "UPDATE members SET delivered_seq = max(delivered_seq, ?), read_seq = max(read_seq, ?) WHERE conversation_id = ? AND user_id = ? AND active = 1",
    ),
    headAfterChange: db.prepare<[number, number, number, string, string, string], { member_version: number }>(
      `UPDATE conversations SET last_seq = ?, last_activity_at = ?, member_version = member_version + 1, member_count = ?, title = ?, description = ?
       WHERE id = ? RETURNING member_version`,
    ),
    upsertDeviceCursor: db.prepare(
      `INSERT INTO device_cursors (user_id, device_id, conversation_id, delivered_seq, read_seq) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (user_id, device_id, conversation_id) DO UPDATE SET
         delivered_seq = max(delivered_seq, excluded.delivered_seq), read_seq = max(read_seq, excluded.read_seq)`,
    ),
    setMemberReceipt: db.prepare("UPDATE members SET delivered_seq = ?, read_seq = ? WHERE conversation_id = ? AND user_id = ?"),
    bumpReceipts: db.prepare<[string], { receipts_version: number }>(
      "UPDATE conversations SET receipts_version = receipts_version + 1 WHERE id = ? RETURNING receipts_version",
    ),
    ...summaryQueries(db),
  };
  // Some errors (disk full, I/O, out of memory) make SQLite roll back the whole batch, not
  // just the failed write's savepoint; the writes after it would then each commit on their
  // own. The batch must fail as a whole instead.
  const failIfBatchLost = (err: unknown): void => {
    if (!db.inTransaction) throw err;
  };
  const insertMessage = (m: MessageRecord): void => {
    const body = encodeBody(m.body);
    q.insertMessage.run(m.conversationId, m.seq, m.id, m.senderUserId, m.senderDeviceId, m.clientMessageId, body.kind, body.text, body.bytes, m.replyToSeq, m.clientSentAt ?? null, m.sentAt);
    if (m.body.kind === "media") q.insertMediaRef.run(m.conversationId, m.seq, m.body.media.mediaId);
    // Every new message, sent or system: its push notifications are as durable as it is.
    q.insertOutbox.run(m.conversationId, m.seq, m.id, m.senderUserId, m.sentAt);
  };
  /** The message of a change to the conversation itself, written by the store at `seq`. */
  const insertSystemMessage = (conversationId: string, seq: number, actorUserId: string, system: SystemEvent, now: number): MessageRecord => {
    const event = systemMessageRecord(conversationId, seq, actorUserId, system, now);
    insertMessage(event);
    return event;
  };
  const join = (conversationId: string, userId: string, role: string | null, seq: number, now: number, request = false): void => {
    q.joinMember.run({ conversationId, userId, role, seq, floor: seq - 1 });
    q.openRange.run(conversationId, userId, seq);
    // The user index is written on joining, never per message. (A sharded adapter writes it
    // in a second step: it lives on the user's shard.)
    q.indexUser.run(userId, conversationId, now, request ? 1 : 0);
  };

  const openDirect = db.transaction((opener: string, peer: string, now: number, peerLandsInRequests: boolean, retention: RetentionPolicy): ConversationRecord => {
    const id = directConversationId(opener, peer);
    // Checked in the writer, whether or not the conversation exists: a block committed before
    // this open is honoured, and the blocked user learns no more than that.
    if (opener !== peer && q.blockOf.get(id, peer)) throw permissionDenied("this user does not accept messages from you");
    const users = [...new Set([opener, peer])];
    // INSERT OR IGNORE: an existing conversation keeps its retention.
    if (q.insertDirect.run({ id, now, memberCount: users.length, retentionMode: retention.mode, retentionTtlSeconds: retention.ttlSeconds }).changes > 0) {
      // The caller's peerLandsInRequests was read before this transaction: the pair may have
      // become contacts since (accounts' SetDirectRelation can land in between), and
      // contacts' chat never starts as a request.
      const peerInRequests = peerLandsInRequests && !q.contactOf.get(id);
      for (const u of users) join(id, u, null, 1, now, u !== opener && peerInRequests);
    }
    return conversation(id)!;
  });

  const setDirectRelation = db.transaction((userId: string, peerUserId: string, blocking: boolean, contact: boolean): void => {
    if (userId === peerUserId) throw invalidArgument("a user has no direct relation with themselves");
    const id = directConversationId(userId, peerUserId);
    // Kept whether or not the conversation exists: open reads it when it creates one.
    if (blocking || contact) q.putRelation.run(id, userId, blocking ? 1 : 0, contact ? 1 : 0);
    else q.dropRelation.run(id, userId);
    // The conversation's count is what append tests; it may not exist yet (then openDirect
    // counts the rows when it creates it).
    q.recountBlocks.run({ id });
    if (contact) for (const u of [userId, peerUserId]) q.leaveRequests.run(u, id);
  });

  const acceptRequest = db.transaction((userId: string, conversationId: string): void => {
    const row = indexRow(userId, conversationId);
    if (!row) throw notFound(`conversation ${conversationId} not found`);
    q.leaveRequests.run(userId, conversationId);
  });

  const deleteRequest = db.transaction((userId: string, conversationId: string): void => {
    const row = indexRow(userId, conversationId);
    if (!row) throw notFound(`conversation ${conversationId} not found`);
    if (row.request === 0) throw failedPrecondition(`conversation ${conversationId} is in your inbox, not a message request`);
    q.hideRequest.run(conversation(conversationId)?.lastSeq ?? 0, userId, conversationId);
  });

  const appendOne = db.transaction((input: AppendInput): AppendOutcome & { ok: true } => {
    const existing = q.byClientId.get(input.conversationId, input.senderUserId, input.senderDeviceId, input.clientMessageId);
    if (existing) {
      const conv = conversation(input.conversationId)!;
      return { ok: true, message: toMessage(existing), duplicate: true, memberVersion: conv.memberVersion, memberCount: conv.memberCount };
    }
    // Checked in the same transaction as the seq is taken: a send racing a removal is ordered
    // after it or before it, never both.
    if (q.member.get(input.conversationId, input.senderUserId)?.active !== 1) {
      if (!conversation(input.conversationId)) throw notFound(`conversation ${input.conversationId} not found`);
      throw permissionDenied(`not a member of conversation ${input.conversationId}`);
    }
    // Only a reply needs the head before the seq is taken; the bump returns it for the rest.
    if (input.replyToSeq > 0) {
      const lastSeq = conversation(input.conversationId)!.lastSeq;
      if (input.replyToSeq > lastSeq) throw new DomainError("invalid_argument", `reply_to_seq ${input.replyToSeq} is beyond the newest message (${lastSeq})`);
    }
    const bumped = q.bumpSeq.get(input.now, input.conversationId);
    // No row: the conversation (which exists: the sender is a member) is blocked.
    if (!bumped) throw permissionDenied("messages between these users are blocked");
    const message: MessageRecord = {
      id: randomUUID(),
      conversationId: input.conversationId,
      seq: bumped.last_seq,
      senderUserId: input.senderUserId,
      senderDeviceId: input.senderDeviceId,
      clientMessageId: input.clientMessageId,
      body: input.body,
      replyToSeq: input.replyToSeq,
      clientSentAt: input.clientSentAt,
      sentAt: input.now,
    };
    insertMessage(message);
    // Sending implies having seen the conversation up to here, as in every mainstream messenger.
    q.senderSaw.run(message.seq, message.seq, input.conversationId, input.senderUserId);
    return { ok: true, message, duplicate: false, memberVersion: bumped.member_version, memberCount: bumped.member_count };
  });

  const append = (inputs: readonly AppendInput[]): AppendOutcome[] => {
    let failure: string | undefined;
    return inputs.map((input): AppendOutcome => {
      if (failure !== undefined) return { ok: false, refused: false, error: `not stored: an earlier message failed (${failure})` };
      try {
        return appendOne(input);
      } catch (err) {
        failIfBatchLost(err);
        // Refused for what it is: nothing was written, and the rest of the batch goes on.
        if (err instanceof DomainError) return { ok: false, refused: true, kind: err.kind, error: err.message };
        failure = err instanceof Error ? err.message : String(err);
        return { ok: false, refused: false, error: failure };
      }
    });
  };

  const summaryOf = (conv: { id: string; memberCount: number }): ReceiptSummaryRecord => ({
    memberCount: conv.memberCount,
    deliveredAllSeq: q.minDelivered.get(conv.id)?.v ?? 0,
    readAllSeq: q.minRead.get(conv.id)?.v ?? 0,
  });

  const updateCursor = db.transaction((conversationId: string, userId: string, deviceId: string, delivered: number, read: number): CursorOutcome => {
    const conv = conversation(conversationId);
    if (!conv) throw notFound(`conversation ${conversationId} not found`);
    const row = q.member.get(conversationId, userId);
    if (!row) throw permissionDenied(`not a member of conversation ${conversationId}`);
    const member = toMember(row);
    const newest = member.active ? conv.lastSeq : (member.leftSeq ?? 0);
    if (delivered > newest || read > newest) throw new DomainError("out_of_range", `seq beyond the newest message you may see (${newest})`);
    // A read message has necessarily been delivered.
    const deliveredSeq = Math.max(delivered, read);
    q.upsertDeviceCursor.run(userId, deviceId, conversationId, deliveredSeq, read);
    const receipt: ReceiptRecord = {
      userId,
      deliveredSeq: Math.max(member.deliveredSeq, deliveredSeq),
      readSeq: Math.max(member.readSeq, read),
    };
    const changed = receipt.deliveredSeq !== member.deliveredSeq || receipt.readSeq !== member.readSeq;
    let receiptsVersion = conv.receiptsVersion;
    if (!changed) return { changed, receipt, receiptsVersion, summary: summaryOf(conv), memberVersion: conv.memberVersion };
    // A large group shows only the summary: its receipts version (a write to the hot
    // conversation row) moves only when the summary does, not with every member's move.
    const large = conv.memberCount > opts.largeGroupThreshold;
    const before = large ? summaryOf(conv) : undefined;
    q.setMemberReceipt.run(receipt.deliveredSeq, receipt.readSeq, conversationId, userId);
    const summary = summaryOf(conv);
    if (!before || before.deliveredAllSeq !== summary.deliveredAllSeq || before.readAllSeq !== summary.readAllSeq) {
      receiptsVersion = q.bumpReceipts.get(conversationId)!.receipts_version;
    }
    return { changed, receipt, receiptsVersion, summary, memberVersion: conv.memberVersion };
  });

  const applyGroupChange = db.transaction((input: GroupChangeInput): GroupChangeOutcome => {
    const before = conversation(input.conversationId);
    const members = new Map<string, MemberRecord>();
    // A group being created has no members yet (and other changes to a missing one fail).
    if (before) for (const u of usersInvolved(input)) {
      const row = q.member.get(input.conversationId, u);
      if (row) members.set(u, toMember(row));
    }
    const plan = planGroupChange({ conversation: before, members }, input);
    if (plan.create) {
      const { title, description, retention } = plan.create;
      q.insertConversation.run(input.conversationId, "group", title, description, input.now, input.now, 0, 0, retention.mode, retention.ttlSeconds);
    }
    const seq = (before?.lastSeq ?? 0) + 1;
    const event = insertSystemMessage(input.conversationId, seq, input.actorUserId, plan.event, input.now);
    for (const op of plan.memberOps) {
      if (op.op === "join") join(input.conversationId, op.userId, op.role, seq, input.now);
      else if (op.op === "end") {
        q.endMember.run(seq, input.now, input.conversationId, op.userId);
        q.closeRange.run(seq, input.conversationId, op.userId);
      } else q.setRole.run(op.role, input.conversationId, op.userId);
    }
    const info = plan.info ?? plan.create ?? { title: before!.title, description: before!.description };
    const head = q.headAfterChange.get(seq, input.now, plan.memberCount, info.title, info.description, input.conversationId)!;
    q.senderSaw.run(seq, seq, input.conversationId, input.actorUserId);
    return { event, memberVersion: head.member_version, memberCount: plan.memberCount };
  });

  const setRetention = db.transaction((input: RetentionChangeInput): GroupChangeOutcome => {
    const conv = conversation(input.conversationId);
    if (!conv) throw notFound(`conversation ${input.conversationId} not found`);
    const row = q.member.get(input.conversationId, input.actorUserId);
    const member = row ? toMember(row) : undefined;
    if (!member?.active) throw permissionDenied(`not a member of conversation ${input.conversationId}`);
    // Like a send: across a block nobody writes into the conversation (nor sets a timer on the other's history).
    if (conv.blocked) throw permissionDenied("messages between these users are blocked");
    if (conv.kind === "group" && member.role !== "admin" && member.role !== "owner") throw permissionDenied("only an admin or the owner may change a group's retention");
    const seq = conv.lastSeq + 1;
    const event = insertSystemMessage(input.conversationId, seq, input.actorUserId, retentionChangedEvent(input.actorUserId, input.retention), input.now);
    const head = q.retentionAfterChange.get(seq, input.now, input.retention.mode, input.retention.ttlSeconds, input.conversationId)!;
    q.senderSaw.run(seq, seq, input.conversationId, input.actorUserId);
    return { event, memberVersion: head.member_version, memberCount: conv.memberCount };
  });

  /** Deletes a conversation's messages through `through` with their media references; min_seq moves above them. */
  const deletePrefix = (conversationId: string, through: number): void => {
    q.deleteMessagesThrough.run(conversationId, through);
    q.deleteMediaRefsThrough.run(conversationId, through);
    q.setMinSeq.run(through + 1, conversationId);
  };

  const deleteExpired = db.transaction((now: number, limit: number): ExpiredDeletion => {
    let deleted = 0;
    let conversations = 0;
    let more = false;
    for (const c of q.disappearing.all()) {
      if (deleted >= limit) {
        more = true;
        break;
      }
      const cutoff = now - c.retention_ttl_seconds * 1000;
      const budget = limit - deleted;
      const from = Math.max(c.min_seq, 1);
      // sent_at follows seq (both are set by this writer), so what is due is a prefix from
      // min_seq: one row tells whether anything is, and only then is the prefix read.
      const first = q.oldestFrom.get(c.id, from, 1);
      if (!first || first.sent_at >= cutoff) continue;
      const due = duePrefix(q.oldestFrom.all(c.id, from, budget + 1).map((r) => ({ seq: r.seq, sentAt: r.sent_at })), cutoff, budget);
      if (due.more) more = true;
      const through = due.through;
      if (through === 0) continue;
      // Archived messages below the first live one go too: seqs are contiguous above min_seq.
      deleted += through - from + 1;
      deletePrefix(c.id, through);
      conversations++;
    }
    return { deleted, conversations, more };
  });

  const deleteThrough = db.transaction((conversationId: string, throughSeq: number, mode: RetentionMode): number => {
    const c = conversation(conversationId);
    // The caller decided on what it read before: a retention changed since keeps everything.
    if (!c || c.retention.mode !== mode) return 0;
    const through = Math.min(throughSeq, c.lastSeq);
    const from = Math.max(c.minSeq, 1);
    if (through < from) return 0;
    deletePrefix(conversationId, through);
    // Seqs are contiguous above min_seq, in live rows and archived segments alike.
    return through - from + 1;
  });

  const commitSegment = db.transaction((e: SegmentIndexEntry): void => {
    const c = conversation(e.conversationId);
    if (!c) throw notFound(`conversation ${e.conversationId} not found`);
    const boundary = Math.max(c.minSeq, q.archivedThrough.get(e.conversationId)!.archived_through + 1, 1);
    if (e.fromSeq !== boundary || e.toSeq < e.fromSeq) throw failedPrecondition(`a segment must start at the archive boundary ${boundary}, not ${e.fromSeq}`);
    // The archiver read the rows before writing the blob: they must still be exactly those.
    const live = q.countFrom.get(e.conversationId, e.fromSeq, e.toSeq)!.n;
    if (live !== e.count || live !== e.toSeq - e.fromSeq + 1) throw aborted(`the live rows ${e.fromSeq}..${e.toSeq} changed since they were archived`);
    q.insertSegment.run(e.conversationId, e.fromSeq, e.toSeq, e.key, e.sha256, e.count, e.bytes, e.firstSentAt, e.lastSentAt);
    q.deleteMessagesRange.run(e.conversationId, e.fromSeq, e.toSeq);
    q.setArchivedThrough.run(e.toSeq, e.conversationId);
  });

  const replaceSegment = db.transaction((old: SegmentIndexEntry, replacement: SegmentIndexEntry | undefined, now: number): void => {
    if (q.deleteSegment.run(old.conversationId, old.fromSeq, old.key).changes === 0) throw aborted(`segment ${old.key} is no longer in the index`);
    if (replacement) {
      q.insertSegment.run(
        replacement.conversationId, replacement.fromSeq, replacement.toSeq, replacement.key, replacement.sha256,
        replacement.count, replacement.bytes, replacement.firstSentAt, replacement.lastSentAt,
      );
    }
    q.putGarbage.run(old.key, now);
  });

  const forgetGarbage = db.transaction((keys: readonly string[]): void => {
    for (const k of keys) q.forgetGarbage.run(k);
  });

  // One writer thread runs every write: the select and the lease below are one transaction,
  // so two relays asking at once get disjoint entries.
  const claimPushOutbox = db.transaction((now: number, leaseMs: number, olderThan: number, limit: number): PushOutboxClaim => {
    const rows = q.claimableOutbox.all(olderThan, now, limit);
    for (const r of rows) q.leaseOutbox.run(now + leaseMs, r.conversation_id, r.seq);
    return {
      entries: rows.map((r) => ({ conversationId: r.conversation_id, seq: r.seq, messageId: r.message_id, senderUserId: r.sender_user_id, sentAt: r.sent_at })),
      oldestSentAt: q.oldestOutbox.get()?.sent_at ?? undefined,
    };
  });

  const ackPushOutbox = db.transaction((keys: readonly PushOutboxKey[]): void => {
    for (const k of keys) q.deleteOutbox.run(k.conversationId, k.seq);
  });

  const run = (op: WriteOp): WriteResults[WriteOp["kind"]] => {
    switch (op.kind) {
      case "openDirect":
        return openDirect(op.opener, op.peer, op.now, op.peerLandsInRequests, op.retention);
      case "append":
        return append(op.inputs);
      case "updateCursor":
        return updateCursor(op.conversationId, op.userId, op.deviceId, op.deliveredSeq, op.readSeq);
      case "applyGroupChange":
        return applyGroupChange(op.input);
      case "setDirectRelation":
        return setDirectRelation(op.userId, op.peerUserId, op.blocking, op.contact);
      case "acceptRequest":
        return acceptRequest(op.userId, op.conversationId);
      case "deleteRequest":
        return deleteRequest(op.userId, op.conversationId);
      case "setRetention":
        return setRetention(op.input);
      case "deleteExpired":
        return deleteExpired(op.now, op.limit);
      case "deleteThrough":
        return deleteThrough(op.conversationId, op.throughSeq, op.mode);
      case "commitSegment":
        return commitSegment(op.entry);
      case "replaceSegment":
        return replaceSegment(op.old, op.replacement, op.now);
      case "forgetGarbage":
        return forgetGarbage(op.keys);
      case "claimPushOutbox":
        return claimPushOutbox(op.now, op.leaseMs, op.olderThan, op.limit);
      case "ackPushOutbox":
        return ackPushOutbox(op.keys);
    }
  };

  const batch = db.transaction((ops: readonly WriteOp[]) => {
    let before = totalChanges.get()!;
    return ops.map((op): WriteOutcome => {
      try {
        const value = run(op);
        const after = totalChanges.get()!;
        rows[op.kind] += after - before;
        before = after;
        return { ok: true, value };
      } catch (err) {
        // A failed write's changes were rolled back: they do not count.
        before = totalChanges.get()!;
        failIfBatchLost(err);
        if (err instanceof DomainError) return { ok: false, message: err.message, kind: err.kind };
        return { ok: false, message: err instanceof Error ? err.message : String(err) };
      }
    });
  });

  return {
    takeRowsWritten() {
      const taken = rows;
      rows = noRowsWritten();
      return taken;
    },
    commit(ops) {
      try {
        return batch(ops);
      } catch (err) {
        // The commit itself failed (disk full, I/O error): nothing in the batch is durable.
        const message = `history commit failed: ${err instanceof Error ? err.message : String(err)}`;
        return ops.map(() => ({ ok: false, message }));
      }
    },
  };
}

/**
 * The aggregates over current members, each one index lookup (SQLite answers min() from the
 * (conversation_id, active, x) index without scanning the members).
 */
export function summaryQueries(db: Database.Database) {
  return {
    minDelivered: db.prepare<[string], { v: number | null }>("SELECT min(delivered_seq) AS v FROM members WHERE conversation_id = ? AND active = 1"),
    minRead: db.prepare<[string], { v: number | null }>("SELECT min(read_seq) AS v FROM members WHERE conversation_id = ? AND active = 1"),
  };
}
