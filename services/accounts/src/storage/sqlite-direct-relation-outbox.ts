import type Database from "better-sqlite3";
import type { DirectRelationOutbox, PendingDirectRelation } from "./direct-relation-outbox.js";

interface OutboxRow {
  version: number;
  user_id: string;
  peer_user_id: string;
  blocking: number;
  contact: number;
}

const entryOf = (r: OutboxRow): PendingDirectRelation => ({
  userId: r.user_id,
  peerUserId: r.peer_user_id,
  blocking: r.blocking === 1,
  contact: r.contact === 1,
  version: r.version,
});

/** The outbox table and what the contacts writes call, inside their own transactions, to fill it. */
export interface SqliteDirectRelationOutbox extends DirectRelationOutbox {
  /** Queues userId's current stance toward peerId (block and contact as stored now), replacing a pending one. */
  queue(userId: string, peerId: string): void;
}

/**
 * The outbox over the accounts SQLite file (`contacts` and `blocks` must exist). The
 * version is an AUTOINCREMENT rowid: REPLACE gives a changed entry a new, never reused one,
 * and the oldest entry is the first row.
 */
export function sqliteDirectRelationOutbox(db: Database.Database): SqliteDirectRelationOutbox {
  db.exec(`
    CREATE TABLE IF NOT EXISTS direct_relation_outbox (
      version INTEGER PRIMARY KEY AUTOINCREMENT,
      user_id TEXT NOT NULL, peer_user_id TEXT NOT NULL, blocking INTEGER NOT NULL, contact INTEGER NOT NULL,
      UNIQUE (user_id, peer_user_id)
    );
  `);
  // The state is read from the tables in the statement that queues it: what is queued is
  // exactly what the transaction committed.
  const current = `
    SELECT @user, @peer,
      EXISTS (SELECT 1 FROM blocks WHERE user_id = @user AND peer_id = @peer),
      EXISTS (SELECT 1 FROM contacts WHERE user_id = @user AND peer_id = @peer)`;
  const q = {
    queue: db.prepare<{ user: string; peer: string }>(`INSERT OR REPLACE INTO direct_relation_outbox (user_id, peer_user_id, blocking, contact) ${current}`),
    one: db.prepare<[string, string], OutboxRow>("SELECT * FROM direct_relation_outbox WHERE user_id = ? AND peer_user_id = ?"),
    after: db.prepare<[number, number], OutboxRow>("SELECT * FROM direct_relation_outbox WHERE version > ? ORDER BY version LIMIT ?"),
    clear: db.prepare("DELETE FROM direct_relation_outbox WHERE version = ?"),
  };
  return {
    queue(user, peer) {
      q.queue.run({ user, peer });
    },
    async pendingDirectRelation(user, peer) {
      const r = q.one.get(user, peer);
      return r && entryOf(r);
    },
    async pendingDirectRelations(afterVersion, limit) {
      return q.after.all(afterVersion, limit).map(entryOf);
    },
    async clearDirectRelation(entry) {
      return q.clear.run(entry.version).changes > 0;
    },
  };
}
