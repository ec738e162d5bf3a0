import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import type { SegmentIndexEntry } from "../archive/segment-index.js";
import type { ConversationRecord, MemberRecord, MemberRole, MessageBody, MessageRecord, RetentionMode } from "./history-repository.js";
import { decodeBody } from "./message-body-codec.js";
import { migrate } from "./sqlite-migrations.js";

export interface MessageRow {
  conversation_id: string;
  seq: number;
  id: string;
  sender_user_id: string;
  sender_device_id: string;
  client_message_id: string;
  body_kind: string;
  text: string;
  body: Buffer | null;
  reply_to_seq: number;
  client_sent_at: number | null;
  sent_at: number;
}

export interface ConversationRow {
  id: string;
  kind: string;
  title: string;
  description: string;
  last_seq: number;
  last_activity_at: number;
  created_at: number;
  min_seq: number;
  member_version: number;
  member_count: number;
  receipts_version: number;
  retention_mode: string;
  retention_ttl_seconds: number;
  blocked: number;
}

export interface SegmentRow {
  conversation_id: string;
  from_seq: number;
  to_seq: number;
  blob_key: string;
  sha256: string;
  message_count: number;
  bytes: number;
  first_sent_at: number;
  last_sent_at: number;
}

export const toSegment = (r: SegmentRow): SegmentIndexEntry => ({
  conversationId: r.conversation_id,
  fromSeq: r.from_seq,
  toSeq: r.to_seq,
  key: r.blob_key,
  sha256: r.sha256,
  count: r.message_count,
  bytes: r.bytes,
  firstSentAt: r.first_sent_at,
  lastSentAt: r.last_sent_at,
});

export interface UserIndexRow {
  conversation_id: string;
  request: number;
  hidden_seq: number;
}

export interface MemberRow {
  conversation_id: string;
  user_id: string;
  role: string | null;
  active: number;
  joined_seq: number;
  left_seq: number | null;
  left_at: number | null;
  delivered_seq: number;
  read_seq: number;
}

export const toMessage = (r: MessageRow): MessageRecord => ({
  id: r.id,
  conversationId: r.conversation_id,
  seq: r.seq,
  senderUserId: r.sender_user_id,
  senderDeviceId: r.sender_device_id,
  clientMessageId: r.client_message_id,
  body: decodeBody(r.body_kind, r.text, r.body),
  replyToSeq: r.reply_to_seq,
  clientSentAt: r.client_sent_at ?? undefined,
  sentAt: r.sent_at,
});

export const toConversation = (r: ConversationRow): ConversationRecord => ({
  id: r.id,
  kind: r.kind === "group" ? "group" : "direct",
  title: r.title,
  description: r.description,
  lastSeq: r.last_seq,
  lastActivityAt: r.last_activity_at,
  createdAt: r.created_at,
  minSeq: r.min_seq,
  memberVersion: r.member_version,
  memberCount: r.member_count,
  receiptsVersion: r.receipts_version,
  retention: { mode: r.retention_mode as RetentionMode, ttlSeconds: r.retention_ttl_seconds },
  blocked: r.blocked > 0,
});

export const toMember = (r: MemberRow): MemberRecord => ({
  conversationId: r.conversation_id,
  userId: r.user_id,
  role: (r.role ?? undefined) as MemberRole | undefined,
  active: r.active === 1,
  joinedSeq: r.joined_seq,
  leftSeq: r.left_seq ?? undefined,
  leftAt: r.left_at ?? undefined,
  deliveredSeq: r.delivered_seq,
  readSeq: r.read_seq,
});

/**
 * Opens the history file in WAL mode with synchronous=FULL, so a committed write survives a
 * power cut before its ack is sent, and migrates it forward to the newest schema (see
 * sqlite-migrations.ts). WAL lets the reading connection and the writer's connection work at
 * the same time.
 */
export function openHistoryDatabase(path: string): Database.Database {
  mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  // The reader and the writer are separate connections; a writer holding the lock briefly
  // (a checkpoint) must not fail the other's statement.
  db.pragma("busy_timeout = 5000");
  migrate(db);
  return db;
}

/** Reads one conversation's head, or undefined. Nothing is cached: the row is the truth. */
export function conversationReader(db: Database.Database): (id: string) => ConversationRecord | undefined {
  const byId = db.prepare<[string], ConversationRow>("SELECT * FROM conversations WHERE id = ?");
  return (id) => {
    const row = byId.get(id);
    return row ? toConversation(row) : undefined;
  };
}

/**
 * Reads the user's index row of one conversation (its folder for the user), or undefined
 * when the conversation is not in the user's index. The writer and the reading connection
 * each compile it on their own connection.
 */
export function userIndexRowReader(db: Database.Database): (userId: string, conversationId: string) => UserIndexRow | undefined {
  const row = db.prepare<[string, string], UserIndexRow>("SELECT conversation_id, request, hidden_seq FROM user_conversations WHERE user_id = ? AND conversation_id = ?");
  return (userId, conversationId) => row.get(userId, conversationId);
}
