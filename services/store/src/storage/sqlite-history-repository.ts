import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { directConversationId } from "./direct-conversation-id.js";
import type {
  AppendInput,
  Change,
  ConversationRecord,
  DeviceCursor,
  HistoryRepository,
  InboxCursor,
  InboxEntry,
  MessageRange,
  MessageRecord,
  ReceiptRecord,
} from "./history-repository.js";

const schema = `
CREATE TABLE IF NOT EXISTS conversations (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  last_seq INTEGER NOT NULL DEFAULT 0,
  last_activity_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS members (
  conversation_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  delivered_seq INTEGER NOT NULL DEFAULT 0,
  read_seq INTEGER NOT NULL DEFAULT 0,
  version INTEGER NOT NULL,
  last_activity_at INTEGER NOT NULL,
  PRIMARY KEY (conversation_id, user_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS members_by_user_version ON members (user_id, version);
CREATE INDEX IF NOT EXISTS members_by_user_activity ON members (user_id, last_activity_at DESC, conversation_id DESC);
CREATE TABLE IF NOT EXISTS messages (
  conversation_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  id TEXT NOT NULL,
  sender_user_id TEXT NOT NULL,
  sender_device_id TEXT NOT NULL,
  client_message_id TEXT NOT NULL,
  text TEXT NOT NULL,
  sent_at INTEGER NOT NULL,
  PRIMARY KEY (conversation_id, seq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS messages_idempotency ON messages (conversation_id, sender_user_id, sender_device_id, client_message_id);
CREATE TABLE IF NOT EXISTS device_cursors (
  conversation_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  delivered_seq INTEGER NOT NULL DEFAULT 0,
  read_seq INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (conversation_id, user_id, device_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO counters (name, value) VALUES ('version', 0);
`;

interface MessageRow {
  conversation_id: string;
  seq: number;
  id: string;
  sender_user_id: string;
  sender_device_id: string;
  client_message_id: string;
  text: string;
  sent_at: number;
}

interface ConversationRow {
  id: string;
  kind: string;
  last_seq: number;
  last_activity_at: number;
  created_at: number;
}

const toMessage = (r: MessageRow): MessageRecord => ({
  id: r.id,
  conversationId: r.conversation_id,
  seq: r.seq,
  senderUserId: r.sender_user_id,
  senderDeviceId: r.sender_device_id,
  clientMessageId: r.client_message_id,
  text: r.text,
  sentAt: r.sent_at,
});

/**
 * The embedded history adapter: one SQLite file in WAL mode with synchronous=FULL, so a
 * committed append survives a power cut before its ack is sent. better-sqlite3 is
 * synchronous, so each method is one transaction that no other request interleaves with.
 */
export function openSqliteHistoryRepository(path: string): HistoryRepository {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.exec(schema);

  const q = {
    conversation: db.prepare<[string], ConversationRow>("SELECT * FROM conversations WHERE id = ?"),
    members: db.prepare<[string], { user_id: string }>("SELECT user_id FROM members WHERE conversation_id = ? ORDER BY user_id"),
    insertConversation: db.prepare("INSERT OR IGNORE INTO conversations (id, kind, last_seq, last_activity_at, created_at) VALUES (?, ?, 0, ?, ?)"),
    insertMember: db.prepare("INSERT OR IGNORE INTO members (conversation_id, user_id, version, last_activity_at) VALUES (?, ?, ?, ?)"),
    nextVersion: db.prepare<[], { value: number }>("UPDATE counters SET value = value + 1 WHERE name = 'version' RETURNING value"),
    byClientId: db.prepare<[string, string, string, string], MessageRow>(
      "SELECT * FROM messages WHERE conversation_id = ? AND sender_user_id = ? AND sender_device_id = ? AND client_message_id = ?",
    ),
    bumpSeq: db.prepare<[number, string], { last_seq: number }>("UPDATE conversations SET last_seq = last_seq + 1, last_activity_at = ? WHERE id = ? RETURNING last_seq"),
    insertMessage: db.prepare(
      "INSERT INTO messages (conversation_id, seq, id, sender_user_id, sender_device_id, client_message_id, text, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    ),
    touchMembers: db.prepare("UPDATE members SET version = ?, last_activity_at = ? WHERE conversation_id = ?"),
    bumpMembersVersion: db.prepare("UPDATE members SET version = ? WHERE conversation_id = ?"),
    senderSaw: db.prepare(
      "UPDATE members SET delivered_seq = max(delivered_seq, ?), read_seq = max(read_seq, ?) WHERE conversation_id = ? AND user_id = ?",
    ),
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
    upsertDeviceCursor: db.prepare(
      `INSERT INTO device_cursors (conversation_id, user_id, device_id, delivered_seq, read_seq) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (conversation_id, user_id, device_id) DO UPDATE SET
         delivered_seq = max(delivered_seq, excluded.delivered_seq), read_seq = max(read_seq, excluded.read_seq)`,
    ),
    member: db.prepare<[string, string], { delivered_seq: number; read_seq: number }>(
      "SELECT delivered_seq, read_seq FROM members WHERE conversation_id = ? AND user_id = ?",
    ),
    setMemberReceipt: db.prepare("UPDATE members SET delivered_seq = ?, read_seq = ? WHERE conversation_id = ? AND user_id = ?"),
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

  const conversation = (id: string): ConversationRecord | undefined => {
    const row = q.conversation.get(id);
    if (!row) return undefined;
    return {
      id: row.id,
      kind: "direct",
      memberUserIds: q.members.all(id).map((m) => m.user_id),
      lastSeq: row.last_seq,
      lastActivityAt: row.last_activity_at,
      createdAt: row.created_at,
    };
  };
  const nextVersion = (): number => q.nextVersion.get()!.value;

  const openDirectTx = db.transaction((a: string, b: string, now: number): ConversationRecord => {
    const id = directConversationId(a, b);
    if (q.insertConversation.run(id, "direct", now, now).changes > 0) {
      const v = nextVersion();
      for (const u of new Set([a, b])) q.insertMember.run(id, u, v, now);
    }
    return conversation(id)!;
  });

  const appendTx = db.transaction((input: AppendInput): { message: MessageRecord; duplicate: boolean } => {
    const existing = q.byClientId.get(input.conversationId, input.senderUserId, input.senderDeviceId, input.clientMessageId);
    if (existing) return { message: toMessage(existing), duplicate: true };
    const bumped = q.bumpSeq.get(input.now, input.conversationId);
    if (!bumped) throw new Error(`conversation ${input.conversationId} does not exist`);
    const message: MessageRecord = {
      id: randomUUID(),
      conversationId: input.conversationId,
      seq: bumped.last_seq,
      senderUserId: input.senderUserId,
      senderDeviceId: input.senderDeviceId,
      clientMessageId: input.clientMessageId,
      text: input.text,
      sentAt: input.now,
    };
    q.insertMessage.run(message.conversationId, message.seq, message.id, message.senderUserId, message.senderDeviceId, message.clientMessageId, message.text, message.sentAt);
    q.touchMembers.run(nextVersion(), input.now, input.conversationId);
    // Sending implies having seen the conversation up to here, as in every mainstream messenger.
    q.senderSaw.run(message.seq, message.seq, input.conversationId, input.senderUserId);
    return { message, duplicate: false };
  });

  const updateCursorTx = db.transaction((conversationId: string, userId: string, deviceId: string, delivered: number, read: number) => {
    const before = q.member.get(conversationId, userId);
    if (!before) throw new Error(`${userId} is not a member of ${conversationId}`);
    // A read message has necessarily been delivered.
    const deliveredSeq = Math.max(delivered, read);
    q.upsertDeviceCursor.run(conversationId, userId, deviceId, deliveredSeq, read);
    const receipt: ReceiptRecord = {
      userId,
      deliveredSeq: Math.max(before.delivered_seq, deliveredSeq),
      readSeq: Math.max(before.read_seq, read),
    };
    const changed = receipt.deliveredSeq !== before.delivered_seq || receipt.readSeq !== before.read_seq;
    if (changed) {
      q.setMemberReceipt.run(receipt.deliveredSeq, receipt.readSeq, conversationId, userId);
      q.bumpMembersVersion.run(nextVersion(), conversationId);
    }
    return { changed, receipt };
  });

  // Group commit: every write that arrives while the event loop is busy runs in ONE
  // transaction, so one fsync makes the whole batch durable, and each caller is answered
  // only after that commit. Each write is its own savepoint (a nested better-sqlite3
  // transaction), so one that fails rolls back alone.
  type Job = { run: () => unknown; resolve(v: unknown): void; reject(e: unknown): void };
  let jobs: Job[] = [];
  const runBatch = db.transaction((list: Job[]) =>
    list.map((j): [boolean, unknown] => {
      try {
        return [true, j.run()];
      } catch (err) {
        return [false, err];
      }
    }),
  );
  const flush = (): void => {
    const list = jobs;
    jobs = [];
    let results: [boolean, unknown][];
    try {
      results = runBatch(list);
    } catch (err) {
      for (const j of list) j.reject(err);
      return;
    }
    results.forEach(([ok, value], i) => (ok ? list[i]!.resolve(value) : list[i]!.reject(value)));
  };
  const write = <T>(run: () => T): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (jobs.length === 0) setImmediate(flush);
      jobs.push({ run, resolve: resolve as (v: unknown) => void, reject });
    });

  return {
    async openDirect(a, b, now) {
      return write(() => openDirectTx(a, b, now));
    },
    async getConversation(id) {
      return conversation(id);
    },
    async append(input) {
      return write(() => appendTx(input));
    },
    async listMessages(conversationId, range: MessageRange) {
      const after = range.afterSeq ?? 0;
      const before = range.beforeSeq ?? Number.MAX_SAFE_INTEGER;
      if (range.direction === "forward") return q.forward.all(conversationId, after, before, range.limit).map(toMessage);
      return q.backward.all(conversationId, after, before, range.limit).reverse().map(toMessage);
    },
    async updateCursor(conversationId, userId, deviceId, delivered, read) {
      return write(() => updateCursorTx(conversationId, userId, deviceId, delivered, read));
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
      db.close();
    },
  };
}
