import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import type { LastSeenStore } from "./last-seen-store.js";

/** The last-seen store of the one-process system: one SQLite file, created if missing. */
export function openSqliteLastSeenStore(path: string): LastSeenStore {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.exec("CREATE TABLE IF NOT EXISTS last_seen (user_id TEXT PRIMARY KEY, at_ms INTEGER NOT NULL) WITHOUT ROWID");
  const q = {
    get: db.prepare<[string], { at_ms: number }>("SELECT at_ms FROM last_seen WHERE user_id = ?"),
    // max(): a late or out-of-order write never moves last seen backwards.
    put: db.prepare("INSERT INTO last_seen (user_id, at_ms) VALUES (?, ?) ON CONFLICT (user_id) DO UPDATE SET at_ms = max(at_ms, excluded.at_ms)"),
  };
  return {
    async get(userIds) {
      const out = new Map<string, number>();
      for (const userId of new Set(userIds)) {
        const row = q.get.get(userId);
        if (row) out.set(userId, row.at_ms);
      }
      return out;
    },
    async put(userId, atMs) {
      q.put.run(userId, Math.trunc(atMs));
    },
    async close() {
      db.close();
    },
  };
}
