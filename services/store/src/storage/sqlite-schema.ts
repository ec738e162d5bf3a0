import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import type { ConversationRecord, MessageRecord } from "./history-repository.js";

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

export interface MessageRow {
  conversation_id: string;
  seq: number;
  id: string;
  sender_user_id: string;
  sender_device_id: string;
  client_message_id: string;
  text: string;
  sent_at: number;
}

export interface ConversationRow {
  id: string;
  kind: string;
  last_seq: number;
  last_activity_at: number;
  created_at: number;
}

export const toMessage = (r: MessageRow): MessageRecord => ({
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
 * Opens the history file in WAL mode with synchronous=FULL, so a committed write survives a
 * power cut before its ack is sent, and creates the schema if it is missing. WAL lets the
 * reading connection and the writer's connection work at the same time.
 */
export function openHistoryDatabase(path: string): Database.Database {
  mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  // The reader and the writer are separate connections; a writer holding the lock briefly
  // (a checkpoint) must not fail the other's statement.
  db.pragma("busy_timeout = 5000");
  db.exec(schema);
  return db;
}

/** Member lists kept per reader; past this many conversations the oldest are dropped. */
const memberCacheSize = 50_000;

/**
 * Reads a conversation with its members, or undefined. Member lists are cached: a direct
 * conversation's members are written with it, in one transaction, and never change. (Group
 * membership, when it comes, must invalidate this.)
 */
export function conversationReader(db: Database.Database): (id: string) => ConversationRecord | undefined {
  const byId = db.prepare<[string], ConversationRow>("SELECT * FROM conversations WHERE id = ?");
  const members = db.prepare<[string], { user_id: string }>("SELECT user_id FROM members WHERE conversation_id = ? ORDER BY user_id");
  const memberCache = new Map<string, readonly string[]>();
  const membersOf = (id: string): readonly string[] => {
    let list = memberCache.get(id);
    if (!list) {
      list = members.all(id).map((m) => m.user_id);
      if (memberCache.size >= memberCacheSize) memberCache.delete(memberCache.keys().next().value!);
      memberCache.set(id, list);
    }
    return list;
  };
  return (id) => {
    const row = byId.get(id);
    if (!row) return undefined;
    return {
      id: row.id,
      kind: "direct",
      memberUserIds: membersOf(id),
      lastSeq: row.last_seq,
      lastActivityAt: row.last_activity_at,
      createdAt: row.created_at,
    };
  };
}
