import type Database from "better-sqlite3";
import type { ContactsRepository, PeerRelation, PrivacyChange, PrivacySettings, TimeCursor, UserSummary } from "./contacts-repository.js";
import { sqliteDirectRelationOutbox } from "./sqlite-direct-relation-outbox.js";
import { privacyOf } from "./stored-privacy.js";

interface SummaryRow {
  id: string;
  username: string;
  display_name: string;
}

interface PairRow extends SummaryRow {
  contact: number;
  /** 1: the user asked the peer; 0: the peer asked the user; null: no request. */
  outgoing: number | null;
  blocking: number;
  blocked_by: number;
}

interface PeerRow {
  id: string;
  contact: number;
  blocking: number;
  blocked_by: number;
  presence_visibility: string | null;
  message_requests: string | null;
}

const summary = (r: SummaryRow): UserSummary => ({ id: r.id, username: r.username, displayName: r.display_name });

/** The first page of a newest-first list starts after a cursor later than any row. */
const start: TimeCursor = { at: Number.MAX_SAFE_INTEGER, peerId: "" };

/**
 * The contacts adapter over the accounts SQLite file (its `users` table must exist). It
 * creates its own tables; rows are per user as on a store sharded by user id. A contact row
 * carries the peer's username (usernames never change) so that a page of contacts by
 * username is a range of one index, not a sort of all of them.
 */
export function sqliteContactsRepository(db: Database.Database): ContactsRepository {
  db.exec(`
    CREATE TABLE IF NOT EXISTS contacts (
      user_id TEXT NOT NULL, peer_id TEXT NOT NULL, peer_username TEXT NOT NULL, since INTEGER NOT NULL,
      PRIMARY KEY (user_id, peer_id)
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS contacts_by_username ON contacts (user_id, peer_username, peer_id);
    CREATE TABLE IF NOT EXISTS contact_requests (
      user_id TEXT NOT NULL, peer_id TEXT NOT NULL, outgoing INTEGER NOT NULL, sent_at INTEGER NOT NULL,
      PRIMARY KEY (user_id, peer_id)
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS contact_requests_newest ON contact_requests (user_id, outgoing, sent_at, peer_id);
    CREATE TABLE IF NOT EXISTS blocks (
      user_id TEXT NOT NULL, peer_id TEXT NOT NULL, blocked_at INTEGER NOT NULL,
      PRIMARY KEY (user_id, peer_id)
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS blocks_newest ON blocks (user_id, blocked_at, peer_id);
    CREATE TABLE IF NOT EXISTS privacy_settings (
      user_id TEXT PRIMARY KEY, presence_visibility TEXT NOT NULL, message_requests TEXT NOT NULL
    ) WITHOUT ROWID;
  `);
  const outbox = sqliteDirectRelationOutbox(db);
  const q = {
    pair: db.prepare<{ user: string; peer: string }, PairRow>(`
      SELECT u.id, u.username, u.display_name,
        EXISTS (SELECT 1 FROM contacts WHERE user_id = @user AND peer_id = u.id) AS contact,
        (SELECT outgoing FROM contact_requests WHERE user_id = @user AND peer_id = u.id) AS outgoing,
        EXISTS (SELECT 1 FROM blocks WHERE user_id = @user AND peer_id = u.id) AS blocking,
        EXISTS (SELECT 1 FROM blocks WHERE user_id = u.id AND peer_id = @user) AS blocked_by
      FROM users u WHERE u.id = @peer`),
    countContacts: db.prepare<[string], { n: number }>("SELECT COUNT(*) AS n FROM contacts WHERE user_id = ?"),
    countOutgoing: db.prepare<[string], { n: number }>("SELECT COUNT(*) AS n FROM contact_requests WHERE user_id = ? AND outgoing = 1"),
    insertRequestRow: db.prepare("INSERT INTO contact_requests (user_id, peer_id, outgoing, sent_at) VALUES (?, ?, ?, ?)"),
    deleteRequestRow: db.prepare("DELETE FROM contact_requests WHERE user_id = ? AND peer_id = ? AND outgoing = ?"),
    deleteRequestRows: db.prepare("DELETE FROM contact_requests WHERE user_id = ? AND peer_id = ?"),
    insertContactRow: db.prepare<[string, number, string]>("INSERT OR IGNORE INTO contacts (user_id, peer_id, peer_username, since) SELECT ?, id, username, ? FROM users WHERE id = ?"),
    deleteContactRow: db.prepare("DELETE FROM contacts WHERE user_id = ? AND peer_id = ?"),
    insertBlock: db.prepare("INSERT OR IGNORE INTO blocks (user_id, peer_id, blocked_at) VALUES (?, ?, ?)"),
    deleteBlock: db.prepare("DELETE FROM blocks WHERE user_id = ? AND peer_id = ?"),
    contacts: db.prepare<[string, string, number], SummaryRow & { since: number }>(`
      SELECT c.peer_id AS id, c.peer_username AS username, u.display_name, c.since FROM contacts c JOIN users u ON u.id = c.peer_id
      WHERE c.user_id = ? AND c.peer_username > ? ORDER BY c.peer_username LIMIT ?`),
    requests: db.prepare<{ user: string; outgoing: number; at: number; peer: string; limit: number }, SummaryRow & { sent_at: number }>(`
      SELECT u.id, u.username, u.display_name, r.sent_at FROM contact_requests r JOIN users u ON u.id = r.peer_id
      WHERE r.user_id = @user AND r.outgoing = @outgoing AND (r.sent_at, r.peer_id) < (@at, @peer)
      ORDER BY r.sent_at DESC, r.peer_id DESC LIMIT @limit`),
    blocked: db.prepare<{ user: string; at: number; peer: string; limit: number }, SummaryRow & { blocked_at: number }>(`
      SELECT u.id, u.username, u.display_name, b.blocked_at FROM blocks b JOIN users u ON u.id = b.peer_id
      WHERE b.user_id = @user AND (b.blocked_at, b.peer_id) < (@at, @peer)
      ORDER BY b.blocked_at DESC, b.peer_id DESC LIMIT @limit`),
    privacy: db.prepare<[string], { presence_visibility: string; message_requests: string }>(
      "SELECT presence_visibility, message_requests FROM privacy_settings WHERE user_id = ?",
    ),
    putPrivacy: db.prepare(`
      INSERT INTO privacy_settings (user_id, presence_visibility, message_requests) VALUES (?, ?, ?)
      ON CONFLICT (user_id) DO UPDATE SET presence_visibility = excluded.presence_visibility, message_requests = excluded.message_requests`),
    // Every peer in one statement (one snapshot, so no peer is judged against a newer state
    // than another): the ids arrive as a JSON array, each looked up by key.
    peers: db.prepare<{ user: string; peers: string }, PeerRow>(`
      SELECT u.id,
        EXISTS (SELECT 1 FROM contacts WHERE user_id = @user AND peer_id = u.id) AS contact,
        EXISTS (SELECT 1 FROM blocks WHERE user_id = @user AND peer_id = u.id) AS blocking,
        EXISTS (SELECT 1 FROM blocks WHERE user_id = u.id AND peer_id = @user) AS blocked_by,
        p.presence_visibility, p.message_requests
      FROM users u LEFT JOIN privacy_settings p ON p.user_id = u.id
      WHERE u.id IN (SELECT value FROM json_each(@peers))`),
    unblockedContacts: db.prepare<{ user: string }, { peer_id: string }>(`
      SELECT c.peer_id FROM contacts c WHERE c.user_id = @user
        AND NOT EXISTS (SELECT 1 FROM blocks WHERE user_id = @user AND peer_id = c.peer_id)
        AND NOT EXISTS (SELECT 1 FROM blocks WHERE user_id = c.peer_id AND peer_id = @user)
      ORDER BY c.peer_id`),
  };
  const dropRequestsBetween = (a: string, b: string): void => {
    q.deleteRequestRows.run(a, b);
    q.deleteRequestRows.run(b, a);
  };
  const putRequest = db.transaction((user: string, peer: string, at: number, maxOutgoing: number): boolean => {
    if (q.countOutgoing.get(user)!.n >= maxOutgoing) return false;
    q.insertRequestRow.run(user, peer, 1, at);
    q.insertRequestRow.run(peer, user, 0, at);
    return true;
  });
  const deleteRequest = db.transaction((from: string, to: string): boolean => {
    if (q.deleteRequestRow.run(from, to, 1).changes === 0) return false;
    q.deleteRequestRow.run(to, from, 0);
    return true;
  });
  const addContact = db.transaction((a: string, b: string, since: number, maxContacts: number): boolean => {
    if (q.countContacts.get(a)!.n >= maxContacts || q.countContacts.get(b)!.n >= maxContacts) return false;
    dropRequestsBetween(a, b);
    q.insertContactRow.run(a, since, b);
    q.insertContactRow.run(b, since, a);
    outbox.queue(a, b);
    outbox.queue(b, a);
    return true;
  });
  const removeContact = db.transaction((a: string, b: string): boolean => {
    const removed = q.deleteContactRow.run(a, b).changes + q.deleteContactRow.run(b, a).changes;
    // Nothing changed, so the store has nothing to hear: an entry here would be pushed by
    // nobody but the retry loop, and would replace a pending one for nothing.
    if (removed === 0) return false;
    // The store keeps the pair's contact bit (it decides where a new conversation lands).
    outbox.queue(a, b);
    outbox.queue(b, a);
    return true;
  });
  const putBlock = db.transaction((user: string, peer: string, at: number): void => {
    q.insertBlock.run(user, peer, at);
    dropRequestsBetween(user, peer);
    outbox.queue(user, peer);
  });
  const deleteBlock = db.transaction((user: string, peer: string): void => {
    q.deleteBlock.run(user, peer);
    outbox.queue(user, peer);
  });
  const updatePrivacy = db.transaction((user: string, change: Partial<PrivacySettings>, defaults: PrivacySettings): PrivacyChange => {
    const row = q.privacy.get(user);
    const before = (row && privacyOf(row.presence_visibility, row.message_requests)) ?? defaults;
    const after: PrivacySettings = {
      presenceVisibility: change.presenceVisibility ?? before.presenceVisibility,
      messageRequests: change.messageRequests ?? before.messageRequests,
    };
    q.putPrivacy.run(user, after.presenceVisibility, after.messageRequests);
    return { before, after };
  });
  return {
    async pairState(user, peer) {
      const r = q.pair.get({ user, peer });
      if (!r) return undefined;
      return { peer: summary(r), contact: r.contact === 1, asked: r.outgoing === 1, askedBy: r.outgoing === 0, blocking: r.blocking === 1, blockedBy: r.blocked_by === 1 };
    },
    async contactCount(user) {
      return q.countContacts.get(user)!.n;
    },
    async putRequest(user, peer, at, maxOutgoing) {
      return putRequest(user, peer, at, maxOutgoing);
    },
    async deleteRequest(from, to) {
      return deleteRequest(from, to);
    },
    async addContact(a, b, since, maxContacts) {
      return addContact(a, b, since, maxContacts);
    },
    async removeContact(a, b) {
      return removeContact(a, b);
    },
    async putBlock(user, peer, at) {
      putBlock(user, peer, at);
    },
    async deleteBlock(user, peer) {
      deleteBlock(user, peer);
    },
    async listContacts(user, afterUsername, limit) {
      return q.contacts.all(user, afterUsername ?? "", limit).map((r) => ({ user: summary(r), since: r.since }));
    },
    async listRequests(user, direction, after, limit) {
      const c = after ?? start;
      return q.requests
        .all({ user, outgoing: direction === "outgoing" ? 1 : 0, at: c.at, peer: c.peerId, limit })
        .map((r) => ({ user: summary(r), sentAt: r.sent_at }));
    },
    async listBlocked(user, after, limit) {
      const c = after ?? start;
      return q.blocked.all({ user, at: c.at, peer: c.peerId, limit }).map((r) => ({ user: summary(r), blockedAt: r.blocked_at }));
    },
    async privacy(user) {
      const r = q.privacy.get(user);
      return r ? privacyOf(r.presence_visibility, r.message_requests) : undefined;
    },
    async updatePrivacy(user, change, defaults) {
      return updatePrivacy(user, change, defaults);
    },
    async peerRelations(user, peers) {
      const rows = q.peers.all({ user, peers: JSON.stringify(peers) });
      return new Map(
        rows.map((r): [string, PeerRelation] => [
          r.id,
          { contact: r.contact === 1, blocking: r.blocking === 1, blockedBy: r.blocked_by === 1, privacy: privacyOf(r.presence_visibility, r.message_requests) },
        ]),
      );
    },
    async unblockedContacts(user) {
      return q.unblockedContacts.all({ user }).map((r) => r.peer_id);
    },
    pendingDirectRelation: (user, peer) => outbox.pendingDirectRelation(user, peer),
    pendingDirectRelations: (afterVersion, limit) => outbox.pendingDirectRelations(afterVersion, limit),
    clearDirectRelation: (entry) => outbox.clearDirectRelation(entry),
  };
}
