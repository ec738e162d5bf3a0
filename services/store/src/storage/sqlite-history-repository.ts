import type Database from "better-sqlite3";
import {
  permanentRetention,
  type ConversationRecord,
  type DeviceCursor,
  type HistoryRepository,
  type MemberRangeRecord,
  type MemberRecord,
  type MessageRange,
  type UserConversation,
} from "./history-repository.js";
import {
  conversationReader,
  toSegment,
  type SegmentRow,
  openHistoryDatabase,
  toConversation,
  toMember,
  toMessage,
  userIndexRowReader,
  type ConversationRow,
  type MemberRow,
  type MessageRow,
  type UserIndexRow,
} from "./sqlite-schema.js";
import { SqliteWriter } from "./sqlite-writer.js";
import { summaryQueries, type RowsWritten } from "./sqlite-writes.js";

/** Largest IN (...) list per statement (SQLite's default bound on variables is 32766). */
const inChunk = 500;

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += inChunk) out.push(items.slice(i, i + inChunk));
  return out;
}

const placeholders = (n: number): string => Array.from({ length: n }, () => "?").join(", ");

const toUserConversation = (row: UserIndexRow, conversation: ConversationRecord, member: MemberRecord): UserConversation => ({
  conversation,
  member,
  request: row.request === 1,
  hiddenSeq: row.hidden_seq,
});

/**
 * The embedded history adapter: one SQLite file (WAL, synchronous=FULL). Writes go to a
 * writer thread that group-commits them (see SqliteWriter), so fsync never blocks the event
 * loop; reads run here on their own connection and, WAL being snapshot-per-statement, see
 * every write whose caller has been answered. The file is migrated forward at open.
 */
export function openSqliteHistoryRepository(path: string, opts: {
    onCommitted?: (rows: RowsWritten, messagesStored: number) => void;
    /** Above this many members a group's receipts version moves only with its summary. */
    largeGroupThreshold?: number;
  } = {}): HistoryRepository {
  // Opened (and migrated) before the writer starts, so reads never race the schema.
  const db = openHistoryDatabase(path);
  const writer = new SqliteWriter(path, opts.onCommitted, opts.largeGroupThreshold);
  const conversation = conversationReader(db);
  const userIndexRow = userIndexRowReader(db);
  // Statements with an IN (...) list, compiled once per list length (at most inChunk of each).
  const inLists = new Map<string, Database.Statement<unknown[]>>();
  const inList = <Row>(sql: string): Database.Statement<unknown[], Row> => {
    let stmt = inLists.get(sql);
    if (!stmt) inLists.set(sql, (stmt = db.prepare<unknown[]>(sql)));
    return stmt as Database.Statement<unknown[], Row>;
  };

  const q = {
    forward: db.prepare<[string, number, number, number], MessageRow>(
      "SELECT * FROM messages WHERE conversation_id = ? AND seq > ? AND seq < ? ORDER BY seq ASC LIMIT ?",
    ),
    backward: db.prepare<[string, number, number, number], MessageRow>(
      "SELECT * FROM messages WHERE conversation_id = ? AND seq > ? AND seq < ? ORDER BY seq DESC LIMIT ?",
    ),
    member: db.prepare<[string, string], MemberRow>("SELECT * FROM members WHERE conversation_id = ? AND user_id = ?"),
    activeMembers: db.prepare<[string, string, number], MemberRow>(
      "SELECT * FROM members WHERE conversation_id = ? AND active = 1 AND user_id > ? ORDER BY user_id LIMIT ?",
    ),
    ranges: db.prepare<[string], { user_id: string; from_seq: number; to_seq: number | null }>(
      "SELECT user_id, from_seq, to_seq FROM member_ranges WHERE conversation_id = ? ORDER BY user_id, from_seq",
    ),
    rangesOf: db.prepare<[string, string], { user_id: string; from_seq: number; to_seq: number | null }>(
      "SELECT user_id, from_seq, to_seq FROM member_ranges WHERE conversation_id = ? AND user_id = ? ORDER BY from_seq",
    ),
    mediaReferences: db.prepare<[string, number], { conversation_id: string; seq: number }>(
      "SELECT conversation_id, seq FROM message_media WHERE media_id = ? ORDER BY conversation_id, seq LIMIT ?",
    ),
    // One statement per call: the ids go in as a JSON array.
    mediaReferenced: db.prepare<[string], { media_id: string }>("SELECT DISTINCT media_id FROM message_media WHERE media_id IN (SELECT value FROM json_each(?))"),
    receipts: db.prepare<[string], { user_id: string; delivered_seq: number; read_seq: number }>(
      "SELECT user_id, delivered_seq, read_seq FROM members WHERE conversation_id = ? AND active = 1 ORDER BY user_id",
    ),
    readByPage: db.prepare<[string, number, number, string, string, number], { user_id: string }>(
      "SELECT user_id FROM members WHERE conversation_id = ? AND active = 1 AND read_seq >= ? AND joined_seq <= ? AND user_id <> ? AND user_id > ? ORDER BY user_id LIMIT ?",
    ),
    readByCount: db.prepare<[string, number, number, string], { n: number }>(
      "SELECT count(*) AS n FROM members WHERE conversation_id = ? AND active = 1 AND read_seq >= ? AND joined_seq <= ? AND user_id <> ?",
    ),
    readByEligible: db.prepare<[string, number, string], { n: number }>(
      "SELECT count(*) AS n FROM members WHERE conversation_id = ? AND active = 1 AND joined_seq <= ? AND user_id <> ?",
    ),
    storeAndForwardHeld: db.prepare<[string, number], ConversationRow>(
      "SELECT * FROM conversations WHERE retention_mode = 'store_and_forward' AND id > ? AND last_seq >= max(min_seq, 1) ORDER BY id LIMIT ?",
    ),
    deliveredOf: db.prepare<[string, string, string], { delivered_seq: number }>(
      "SELECT delivered_seq FROM device_cursors WHERE user_id = ? AND device_id = ? AND conversation_id = ?",
    ),
    archivedDisappearing: db.prepare<[string, number], ConversationRow>(
      "SELECT * FROM conversations WHERE retention_mode = 'disappearing' AND id > ? AND archived_through >= max(min_seq, 1) ORDER BY id LIMIT ?",
    ),
    segmentIndex: db.prepare<[string], SegmentRow>("SELECT * FROM archive_segments WHERE conversation_id = ? ORDER BY from_seq"),
    // The boundary is where the next segment starts; the live rows above it are last_seq - boundary + 1.
    archiveCandidates: db.prepare<[string, number, number], { id: string; boundary: number }>(
      `SELECT id, boundary FROM (SELECT id, last_seq, max(min_seq, archived_through + 1, 1) AS boundary FROM conversations
         WHERE retention_mode = 'permanent' AND id > ?) WHERE last_seq - boundary + 1 >= ? ORDER BY id LIMIT ?`,
    ),
    segmentsBelowMinSeq: db.prepare<[number], SegmentRow>(
      `SELECT s.* FROM archive_segments s JOIN conversations c ON c.id = s.conversation_id
       WHERE c.archived_through > 0 AND s.from_seq < c.min_seq ORDER BY s.conversation_id, s.from_seq LIMIT ?`,
    ),
    archiveGarbage: db.prepare<[number], { blob_key: string }>("SELECT blob_key FROM archive_garbage ORDER BY since, blob_key LIMIT ?"),
    userIndex: db.prepare<[string, string, number], UserIndexRow>(
      "SELECT conversation_id, request, hidden_seq FROM user_conversations WHERE user_id = ? AND conversation_id > ? ORDER BY conversation_id LIMIT ?",
    ),
    ...summaryQueries(db),
  };
  const toRange = (r: { user_id: string; from_seq: number; to_seq: number | null }): MemberRangeRecord => ({ userId: r.user_id, fromSeq: r.from_seq, toSeq: r.to_seq ?? undefined });

  return {
    openDirect(opener, peer, now, peerLandsInRequests, retention = permanentRetention) {
      return writer.write({ kind: "openDirect", opener, peer, now, peerLandsInRequests, retention });
    },
    setDirectRelation(userId, peerUserId, blocking, contact) {
      return writer.write({ kind: "setDirectRelation", userId, peerUserId, blocking, contact });
    },
    acceptRequest(userId, conversationId) {
      return writer.write({ kind: "acceptRequest", userId, conversationId });
    },
    deleteRequest(userId, conversationId) {
      return writer.write({ kind: "deleteRequest", userId, conversationId });
    },
    async getConversation(id) {
      return conversation(id);
    },
    async getMember(conversationId, userId) {
      const row = q.member.get(conversationId, userId);
      return row ? toMember(row) : undefined;
    },
    async getMembers(conversationId, userIds) {
      return userIds.flatMap((u) => {
        const row = q.member.get(conversationId, u);
        return row ? [toMember(row)] : [];
      });
    },
    async listActiveMembers(conversationId, afterUserId, limit) {
      return q.activeMembers.all(conversationId, afterUserId, limit).map(toMember);
    },
    async memberRanges(conversationId) {
      return q.ranges.all(conversationId).map(toRange);
    },
    async rangesOf(conversationId, userId) {
      return q.rangesOf.all(conversationId, userId).map(toRange);
    },
    async storeAndForwardHeld(afterConversationId, limit) {
      return q.storeAndForwardHeld.all(afterConversationId, limit).map(toConversation);
    },
    async deliveredByDevice(conversationId, devices) {
      return devices.flatMap(({ userId, deviceId }) => {
        const row = q.deliveredOf.get(userId, deviceId, conversationId);
        return row ? [{ userId, deviceId, deliveredSeq: row.delivered_seq }] : [];
      });
    },
    deleteThrough(conversationId, throughSeq, mode) {
      return writer.write({ kind: "deleteThrough", conversationId, throughSeq, mode });
    },
    async archivedDisappearing(afterConversationId, limit) {
      return q.archivedDisappearing.all(afterConversationId, limit).map(toConversation);
    },
    async segmentIndex(conversationId) {
      return q.segmentIndex.all(conversationId).map(toSegment);
    },
    async archiveCandidates(afterConversationId, limit, minMessages) {
      return q.archiveCandidates.all(afterConversationId, minMessages, limit).map((r) => ({ conversationId: r.id, fromSeq: r.boundary }));
    },
    commitSegment(entry) {
      return writer.write({ kind: "commitSegment", entry });
    },
    async segmentsBelowMinSeq(limit) {
      return q.segmentsBelowMinSeq.all(limit).map(toSegment);
    },
    replaceSegment(old, replacement) {
      return writer.write({ kind: "replaceSegment", old, replacement, now: Date.now() });
    },
    async archiveGarbage(limit) {
      return q.archiveGarbage.all(limit).map((r) => r.blob_key);
    },
    forgetGarbage(keys) {
      return writer.write({ kind: "forgetGarbage", keys });
    },
    async mediaReferences(mediaId, limit) {
      return q.mediaReferences.all(mediaId, limit).map((r) => ({ conversationId: r.conversation_id, seq: r.seq }));
    },
    async referencedMedia(mediaIds) {
      return new Set(q.mediaReferenced.all(JSON.stringify(mediaIds)).map((r) => r.media_id));
    },
    append(inputs) {
      return writer.write({ kind: "append", inputs });
    },
    applyGroupChange(input) {
      return writer.write({ kind: "applyGroupChange", input });
    },
    setRetention(input) {
      return writer.write({ kind: "setRetention", input });
    },
    deleteExpired(now, limit) {
      return writer.write({ kind: "deleteExpired", now, limit });
    },
    async listMessages(conversationId, range: MessageRange) {
      const after = range.afterSeq ?? 0;
      const before = range.beforeSeq ?? Number.MAX_SAFE_INTEGER;
      if (range.direction === "forward") return q.forward.all(conversationId, after, before, range.limit).map(toMessage);
      return q.backward.all(conversationId, after, before, range.limit).reverse().map(toMessage);
    },
    async messagesAt(conversationId, seqs) {
      return chunks(seqs).flatMap((part) =>
        inList<MessageRow>(`SELECT * FROM messages WHERE conversation_id = ? AND seq IN (${placeholders(part.length)})`).all(conversationId, ...part).map(toMessage),
      );
    },
    updateCursor(conversationId, userId, deviceId, deliveredSeq, readSeq) {
      return writer.write({ kind: "updateCursor", conversationId, userId, deviceId, deliveredSeq, readSeq });
    },
    async deviceCursors(userId, deviceId, conversationIds) {
      const out = new Map<string, DeviceCursor>();
      for (const part of chunks(conversationIds)) {
        const rows = inList<{ conversation_id: string; delivered_seq: number; read_seq: number }>(
          `SELECT conversation_id, delivered_seq, read_seq FROM device_cursors WHERE user_id = ? AND device_id = ? AND conversation_id IN (${placeholders(part.length)})`,
        ).all(userId, deviceId, ...part);
        for (const r of rows) out.set(r.conversation_id, { deliveredSeq: r.delivered_seq, readSeq: r.read_seq });
      }
      return out;
    },
    async receipts(conversationId) {
      return q.receipts.all(conversationId).map((r) => ({ userId: r.user_id, deliveredSeq: r.delivered_seq, readSeq: r.read_seq }));
    },
    async receiptSummary(conversationId) {
      const conv = conversation(conversationId);
      return {
        memberCount: conv?.memberCount ?? 0,
        deliveredAllSeq: q.minDelivered.get(conversationId)?.v ?? 0,
        readAllSeq: q.minRead.get(conversationId)?.v ?? 0,
      };
    },
    async readBy(conversationId, seq, exceptUserId, afterUserId, limit) {
      return {
        userIds: q.readByPage.all(conversationId, seq, seq, exceptUserId, afterUserId, limit).map((r) => r.user_id),
        count: q.readByCount.get(conversationId, seq, seq, exceptUserId)!.n,
        eligible: q.readByEligible.get(conversationId, seq, exceptUserId)!.n,
      };
    },
    async userConversations(userId, afterConversationId, limit): Promise<UserConversation[]> {
      // One indexed range read of the user index, then one batched read of the heads and one
      // of the user's membership rows (on a sharded store: $in on the shard key).
      const index = q.userIndex.all(userId, afterConversationId, limit);
      const ids = index.map((r) => r.conversation_id);
      const heads = new Map<string, ConversationRow>();
      const members = new Map<string, MemberRow>();
      for (const part of chunks(ids)) {
        const list = placeholders(part.length);
        for (const r of inList<ConversationRow>(`SELECT * FROM conversations WHERE id IN (${list})`).all(...part)) heads.set(r.id, r);
        for (const r of inList<MemberRow>(`SELECT * FROM members WHERE user_id = ? AND conversation_id IN (${list})`).all(userId, ...part)) {
          members.set(r.conversation_id, r);
        }
      }
      return index.flatMap((row) => {
        const head = heads.get(row.conversation_id);
        const member = members.get(row.conversation_id);
        return head && member ? [toUserConversation(row, toConversation(head), toMember(member))] : [];
      });
    },
    async userConversation(userId, conversationId) {
      const row = userIndexRow(userId, conversationId);
      const head = row && conversation(conversationId);
      const member = head && q.member.get(conversationId, userId);
      return row && head && member ? toUserConversation(row, head, toMember(member)) : undefined;
    },
    claimPushOutbox(now, leaseMs, olderThan, limit) {
      return writer.write({ kind: "claimPushOutbox", now, leaseMs, olderThan, limit });
    },
    async ackPushOutbox(keys) {
      if (keys.length === 0) return;
      return writer.write({ kind: "ackPushOutbox", keys });
    },
    async close() {
      await writer.close();
      db.close();
    },
  };
}
