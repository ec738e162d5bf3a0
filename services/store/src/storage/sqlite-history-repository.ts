import type { Change, DeviceCursor, HistoryRepository, InboxCursor, InboxEntry, MessageRange } from "./history-repository.js";
import { conversationReader, openHistoryDatabase, toMessage, type MessageRow } from "./sqlite-schema.js";
import { SqliteWriter } from "./sqlite-writer.js";

/**
 * The embedded history adapter: one SQLite file (WAL, synchronous=FULL). Writes go to a
 * writer thread that group-commits them (see SqliteWriter), so fsync never blocks the event
 * loop; reads run here on their own connection and, WAL being snapshot-per-statement, see
 * every write whose caller has been answered.
 */
export function openSqliteHistoryRepository(path: string): HistoryRepository {
  // Opened (and the schema created) before the writer starts, so reads never race the schema.
  const db = openHistoryDatabase(path);
  const writer = new SqliteWriter(path);
  const conversation = conversationReader(db);

  const q = {
    forward: db.prepare<[string, number, number, number], MessageRow>(
      "SELECT * FROM messages WHERE conversation_id = ? AND seq > ? AND seq < ? ORDER BY seq ASC LIMIT ?",
    ),
    backward: db.prepare<[string, number, number, number], MessageRow>(
      "SELECT * FROM messages WHERE conversation_id = ? AND seq > ? AND seq < ? ORDER BY seq DESC LIMIT ?",
    ),
    lastMessage: db.prepare<[string], MessageRow>("SELECT * FROM messages WHERE conversation_id = ? ORDER BY seq DESC LIMIT 1"),
    deviceCursor: db.prepare<[string, string, string], { delivered_seq: number; read_seq: number }>(
      "SELECT delivered_seq, read_seq FROM device_cursors WHERE conversation_id = ? AND user_id = ? AND device_id = ?",
    ),
    receipts: db.prepare<[string], { user_id: string; delivered_seq: number; read_seq: number }>(
      "SELECT user_id, delivered_seq, read_seq FROM members WHERE conversation_id = ? ORDER BY user_id",
    ),
    inboxFirst: db.prepare<[string, number], { conversation_id: string; read_seq: number }>(
      "SELECT conversation_id, read_seq FROM members WHERE user_id = ? ORDER BY last_activity_at DESC, conversation_id DESC LIMIT ?",
    ),
    inboxAfter: db.prepare<[string, number, number, string, number], { conversation_id: string; read_seq: number }>(
      `SELECT conversation_id, read_seq FROM members WHERE user_id = ?
         AND (last_activity_at < ? OR (last_activity_at = ? AND conversation_id < ?))
       ORDER BY last_activity_at DESC, conversation_id DESC LIMIT ?`,
    ),
    changes: db.prepare<[string, number, number], { conversation_id: string; version: number }>(
      "SELECT conversation_id, version FROM members WHERE user_id = ? AND version > ? ORDER BY version ASC LIMIT ?",
    ),
    contacts: db.prepare<[string, string], { user_id: string }>(
      `SELECT DISTINCT other.user_id FROM members me JOIN members other ON other.conversation_id = me.conversation_id
       WHERE me.user_id = ? AND other.user_id <> ? ORDER BY other.user_id`,
    ),
  };

  return {
    openDirect(userA, userB, now) {
      return writer.write({ kind: "openDirect", userA, userB, now });
    },
    async getConversation(id) {
      return conversation(id);
    },
    append(inputs) {
      return writer.write({ kind: "append", inputs });
    },
    async listMessages(conversationId, range: MessageRange) {
      const after = range.afterSeq ?? 0;
      const before = range.beforeSeq ?? Number.MAX_SAFE_INTEGER;
      if (range.direction === "forward") return q.forward.all(conversationId, after, before, range.limit).map(toMessage);
      return q.backward.all(conversationId, after, before, range.limit).reverse().map(toMessage);
    },
    updateCursor(conversationId, userId, deviceId, deliveredSeq, readSeq) {
      return writer.write({ kind: "updateCursor", conversationId, userId, deviceId, deliveredSeq, readSeq });
    },
    async deviceCursor(conversationId, userId, deviceId): Promise<DeviceCursor> {
      const row = q.deviceCursor.get(conversationId, userId, deviceId);
      return { deliveredSeq: row?.delivered_seq ?? 0, readSeq: row?.read_seq ?? 0 };
    },
    async receipts(conversationId) {
      return q.receipts.all(conversationId).map((r) => ({ userId: r.user_id, deliveredSeq: r.delivered_seq, readSeq: r.read_seq }));
    },
    async listInbox(userId, limit, after?: InboxCursor): Promise<InboxEntry[]> {
      const rows = after
        ? q.inboxAfter.all(userId, after.lastActivityAt, after.lastActivityAt, after.conversationId, limit)
        : q.inboxFirst.all(userId, limit);
      return rows.map((r) => {
        const last = q.lastMessage.get(r.conversation_id);
        return { conversation: conversation(r.conversation_id)!, lastMessage: last ? toMessage(last) : undefined, readSeq: r.read_seq };
      });
    },
    async changesSince(userId, sinceVersion, limit): Promise<Change[]> {
      return q.changes.all(userId, sinceVersion, limit).map((r) => ({ conversationId: r.conversation_id, version: r.version }));
    },
    async contactsOf(userId) {
      return q.contacts.all(userId, userId).map((r) => r.user_id);
    },
    async close() {
      await writer.close();
      db.close();
    },
  };
}
