import type Database from "better-sqlite3";

/**
 * The schema's history, forward only: migration i takes the file from version i-1 to i
 * (PRAGMA user_version). Never edit a shipped migration; add the next one.
 */
export const migrations: readonly { readonly version: number; readonly name: string; readonly sql: string }[] = [
  {
    version: 1,
    name: "v1: direct conversations, members with a global change version",
    // Exactly the schema the v1 code created at open.
    sql: `
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
`,
  },
  {
    version: 2,
    name: "v2: groups, membership ranges, message bodies, user index; no global counter",
    // Every table is addressed by the key it would be sharded on: conversation id for
    // conversations, members, member_ranges and messages; user id for user_conversations and
    // device_cursors. v1 direct conversations become kind 'direct' with both members' ranges
    // from seq 1, open; receipts and device cursors are kept.
    sql: `
ALTER TABLE conversations ADD COLUMN title TEXT NOT NULL DEFAULT '';
ALTER TABLE conversations ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE conversations ADD COLUMN min_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN member_version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE conversations ADD COLUMN member_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN receipts_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN retention_mode TEXT NOT NULL DEFAULT 'permanent';
ALTER TABLE conversations ADD COLUMN retention_ttl_seconds INTEGER NOT NULL DEFAULT 0;
UPDATE conversations SET
  member_count = (SELECT count(*) FROM members m WHERE m.conversation_id = conversations.id),
  receipts_version = CASE WHEN EXISTS (
    SELECT 1 FROM members m WHERE m.conversation_id = conversations.id AND (m.delivered_seq > 0 OR m.read_seq > 0)
  ) THEN 1 ELSE 0 END;

CREATE TABLE members_v2 (
  conversation_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  role TEXT,
  active INTEGER NOT NULL,
  joined_seq INTEGER NOT NULL,
  left_seq INTEGER,
  left_at INTEGER,
  delivered_seq INTEGER NOT NULL DEFAULT 0,
  read_seq INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (conversation_id, user_id)
) WITHOUT ROWID;
INSERT INTO members_v2 (conversation_id, user_id, role, active, joined_seq, left_seq, left_at, delivered_seq, read_seq)
  SELECT conversation_id, user_id, NULL, 1, 1, NULL, NULL, delivered_seq, read_seq FROM members;

CREATE TABLE member_ranges (
  conversation_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  from_seq INTEGER NOT NULL,
  to_seq INTEGER,
  PRIMARY KEY (conversation_id, user_id, from_seq)
) WITHOUT ROWID;
INSERT INTO member_ranges (conversation_id, user_id, from_seq, to_seq) SELECT conversation_id, user_id, 1, NULL FROM members;

CREATE TABLE user_conversations (
  user_id TEXT NOT NULL,
  conversation_id TEXT NOT NULL,
  joined_at INTEGER NOT NULL,
  PRIMARY KEY (user_id, conversation_id)
) WITHOUT ROWID;
INSERT INTO user_conversations (user_id, conversation_id, joined_at)
  SELECT m.user_id, m.conversation_id, c.created_at FROM members m JOIN conversations c ON c.id = m.conversation_id;

DROP TABLE members;
ALTER TABLE members_v2 RENAME TO members;
-- The aggregates over current members (ReceiptSummary) are min() lookups on these.
CREATE INDEX members_active_delivered ON members (conversation_id, active, delivered_seq);
CREATE INDEX members_active_read ON members (conversation_id, active, read_seq);

ALTER TABLE messages ADD COLUMN body_kind TEXT NOT NULL DEFAULT 'text';
ALTER TABLE messages ADD COLUMN body BLOB;
ALTER TABLE messages ADD COLUMN reply_to_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN client_sent_at INTEGER;

CREATE TABLE device_cursors_v2 (
  user_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  conversation_id TEXT NOT NULL,
  delivered_seq INTEGER NOT NULL DEFAULT 0,
  read_seq INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (user_id, device_id, conversation_id)
) WITHOUT ROWID;
INSERT INTO device_cursors_v2 (user_id, device_id, conversation_id, delivered_seq, read_seq)
  SELECT user_id, device_id, conversation_id, delivered_seq, read_seq FROM device_cursors;
DROP TABLE device_cursors;
ALTER TABLE device_cursors_v2 RENAME TO device_cursors;

DROP TABLE counters;
`,
  },
  {
    version: 3,
    name: "v3: the relation of the two users of a direct conversation (blocks, contact); message requests",
    // direct_relations is placed by conversation id, beside the conversation it guards, so
    // the checks of open and append never leave the conversation's shard; a row exists
    // whether or not the conversation does (one per user with a stance: blocking the other,
    // or contact; neither is no row). conversations.blocked caches how many of the two block
    // the other (the append's seq bump tests it, so a block costs nothing on the send path);
    // the user index gains the folder: request = 1 while it is a pending message request,
    // hidden_seq = the last_seq at which the user deleted that request.
    sql: `
CREATE TABLE direct_relations (
  conversation_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  blocking INTEGER NOT NULL,
  contact INTEGER NOT NULL,
  PRIMARY KEY (conversation_id, user_id)
) WITHOUT ROWID;
ALTER TABLE conversations ADD COLUMN blocked INTEGER NOT NULL DEFAULT 0;
ALTER TABLE user_conversations ADD COLUMN request INTEGER NOT NULL DEFAULT 0;
ALTER TABLE user_conversations ADD COLUMN hidden_seq INTEGER NOT NULL DEFAULT 0;
`,
  },
  {
    version: 4,
    name: "v4: which stored messages reference which media; the conversations whose messages disappear",
    // Written with the message, in its transaction, so a media whose last reference goes is
    // known at once (what the media service's cleanup asks); placed by conversation id like
    // the message. Lookups go by media id. Media bodies stored before v4 name no upload of a
    // media service (there was none), so nothing is backfilled.
    sql: `
CREATE TABLE message_media (
  conversation_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  media_id TEXT NOT NULL,
  PRIMARY KEY (conversation_id, seq)
) WITHOUT ROWID;
CREATE INDEX message_media_by_media ON message_media (media_id);
-- The retention sweeper visits only conversations whose messages disappear.
CREATE INDEX conversations_disappearing ON conversations (id) WHERE retention_mode = 'disappearing';
`,
  },
  {
    version: 5,
    name: "v5: the conversations whose messages are kept only until delivered",
    sql: `
CREATE INDEX conversations_store_and_forward ON conversations (id) WHERE retention_mode = 'store_and_forward';
`,
  },
  {
    version: 6,
    name: "v6: archived segments of old messages in the blob store, and blobs left to delete",
    // A segment replaces its rows in messages (not in message_media: the media it references
    // stays referenced). archived_through is the highest seq in a segment (0: none), so the
    // archiver finds its next boundary and reads know when to look at the index.
    sql: `
CREATE TABLE archive_segments (
  conversation_id TEXT NOT NULL,
  from_seq INTEGER NOT NULL,
  to_seq INTEGER NOT NULL,
  blob_key TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  message_count INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  first_sent_at INTEGER NOT NULL,
  last_sent_at INTEGER NOT NULL,
  PRIMARY KEY (conversation_id, from_seq)
) WITHOUT ROWID;
ALTER TABLE conversations ADD COLUMN archived_through INTEGER NOT NULL DEFAULT 0;
CREATE TABLE archive_garbage (blob_key TEXT PRIMARY KEY, since INTEGER NOT NULL) WITHOUT ROWID;
`,
  },
  {
    version: 7,
    name: "v7: the push outbox, one entry per stored message until its notifications are queued",
    // Written with the message, in its transaction, and deleted once the router queued the
    // message's push notifications; the router's relay leases the entries left behind (a
    // router that died, a queue that was down) by setting claimed_until. The relay reads
    // them oldest first. Messages stored before v7 had their notifications published inline
    // (or lost), so nothing is backfilled.
    sql: `
CREATE TABLE push_outbox (
  conversation_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  message_id TEXT NOT NULL,
  sender_user_id TEXT NOT NULL,
  sent_at INTEGER NOT NULL,
  claimed_until INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (conversation_id, seq)
) WITHOUT ROWID;
CREATE INDEX push_outbox_by_age ON push_outbox (sent_at);
`,
  },
];

/** The version a file has once every migration ran. */
export const schemaVersion = migrations.at(-1)!.version;

/**
 * Brings the file to the newest schema, each migration in its own transaction (taken with
 * BEGIN IMMEDIATE, and the version read again inside it, so two connections opening the
 * same file at once never run one twice). A file whose tables exist but whose user_version
 * is 0 was written by v1, which set no version. A file from a newer version is refused.
 */
export function migrate(db: Database.Database): { from: number; to: number } {
  const version = (): number => db.pragma("user_version", { simple: true }) as number;
  const from = version();
  if (from > schemaVersion) throw new Error(`history file has schema version ${from}, newer than this code's ${schemaVersion}`);
  db.transaction(() => {
    if (version() === 0 && db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'conversations'").get()) {
      db.pragma("user_version = 1");
    }
  }).immediate();
  for (const m of migrations) {
    db.transaction(() => {
      if (version() >= m.version) return;
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    }).immediate();
  }
  return { from, to: version() };
}
