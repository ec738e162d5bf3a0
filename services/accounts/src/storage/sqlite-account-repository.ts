import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import type { AccountRecord, AccountRepository, RefreshTokenRecord } from "./account-repository.js";
import type { ContactsRepository } from "./contacts-repository.js";
import { sqliteContactsRepository } from "./sqlite-contacts-repository.js";

interface UserRow {
  id: string;
  username: string;
  display_name: string;
  password_hash: string;
  created_at: number;
}

const toRecord = (r: UserRow): AccountRecord => ({
  id: r.id,
  username: r.username,
  displayName: r.display_name,
  passwordHash: r.password_hash,
  createdAt: r.created_at,
});

/** The embedded accounts adapter: one SQLite file for accounts, tokens, contacts and privacy settings. */
export function openSqliteAccountRepository(path: string): AccountRepository & ContactsRepository {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  return sqliteAccountRepository(new Database(path));
}

/** The adapter over a connection opened by the caller (tests open one that traces its statements); it closes it. */
export function sqliteAccountRepository(db: Database.Database): AccountRepository & ContactsRepository {
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.exec(`
    CREATE TABLE IF NOT EXISTS users (
      id TEXT PRIMARY KEY, username TEXT NOT NULL UNIQUE, display_name TEXT NOT NULL,
      password_hash TEXT NOT NULL, created_at INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS refresh_tokens (
      token_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, device_id TEXT NOT NULL, expires_at INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS refresh_tokens_by_device ON refresh_tokens (user_id, device_id);
  `);
  const q = {
    insert: db.prepare("INSERT OR IGNORE INTO users (id, username, display_name, password_hash, created_at) VALUES (?, ?, ?, ?, ?)"),
    byName: db.prepare<[string], UserRow>("SELECT * FROM users WHERE username = ?"),
    byId: db.prepare<[string], UserRow>("SELECT * FROM users WHERE id = ?"),
    putToken: db.prepare("INSERT INTO refresh_tokens (token_hash, user_id, device_id, expires_at) VALUES (?, ?, ?, ?)"),
    // A device holds one refresh token at a time: logging in again revokes the old one.
    revokeDevice: db.prepare("DELETE FROM refresh_tokens WHERE user_id = ? AND device_id = ?"),
    takeToken: db.prepare<[string], { token_hash: string; user_id: string; device_id: string; expires_at: number }>(
      "DELETE FROM refresh_tokens WHERE token_hash = ? RETURNING *",
    ),
  };
  const putToken = db.transaction((r: RefreshTokenRecord) => {
    q.revokeDevice.run(r.userId, r.deviceId);
    q.putToken.run(r.tokenHash, r.userId, r.deviceId, r.expiresAt);
  });
  return {
    ...sqliteContactsRepository(db),
    async insertUser(u) {
      return q.insert.run(u.id, u.username, u.displayName, u.passwordHash, u.createdAt).changes > 0;
    },
    async userByName(username) {
      const row = q.byName.get(username);
      return row ? toRecord(row) : undefined;
    },
    async usersById(ids) {
      return ids.flatMap((id) => {
        const row = q.byId.get(id);
        return row ? [toRecord(row)] : [];
      });
    },
    async putRefreshToken(r) {
      putToken(r);
    },
    async takeRefreshToken(hash) {
      const row = q.takeToken.get(hash);
      return row ? { tokenHash: row.token_hash, userId: row.user_id, deviceId: row.device_id, expiresAt: row.expires_at } : undefined;
    },
    async close() {
      db.close();
    },
  };
}
