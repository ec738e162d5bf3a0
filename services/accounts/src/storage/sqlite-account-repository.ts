import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import type { AccountRecord, DeviceRecord, RefreshTokenPut, RefreshTokenRecord } from "./account-repository.js";
import type { AccountsRepositories } from "./accounts-repositories.js";
import { sqliteContactsRepository } from "./sqlite-contacts-repository.js";
import { sqliteNotificationsRepository } from "./sqlite-notifications-repository.js";

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

/**
 * The embedded accounts adapter: one SQLite file for accounts, tokens, contacts, privacy
 * settings, push registrations and notification settings.
 */
export function openSqliteAccountRepository(path: string): AccountsRepositories {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  return sqliteAccountRepository(new Database(path));
}

/** The adapter over a connection opened by the caller (tests open one that traces its statements); it closes it. */
export function sqliteAccountRepository(db: Database.Database): AccountsRepositories {
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  const hadDevices = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'devices'").get() !== undefined;
  db.exec(`
    CREATE TABLE IF NOT EXISTS users (
      id TEXT PRIMARY KEY, username TEXT NOT NULL UNIQUE, display_name TEXT NOT NULL,
      password_hash TEXT NOT NULL, created_at INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS refresh_tokens (
      token_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, device_id TEXT NOT NULL, expires_at INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS refresh_tokens_by_device ON refresh_tokens (user_id, device_id);
    CREATE TABLE IF NOT EXISTS devices (
      user_id TEXT NOT NULL, device_id TEXT NOT NULL, registered_at INTEGER NOT NULL, PRIMARY KEY (user_id, device_id)
    ) WITHOUT ROWID;
  `);
  // Files from before the device registry: every device holding a token is registered, as if
  // since forever (what was sent to it before must not count as delivered to a newcomer).
  if (!hadDevices) db.exec("INSERT OR IGNORE INTO devices (user_id, device_id, registered_at) SELECT DISTINCT user_id, device_id, 0 FROM refresh_tokens");
  // Files from before reuse detection have no used_at: a used token was deleted then.
  const tokenColumns = db.prepare<[], { name: string }>("SELECT name FROM pragma_table_info('refresh_tokens')").all();
  if (!tokenColumns.some((c) => c.name === "used_at")) db.exec("ALTER TABLE refresh_tokens ADD COLUMN used_at INTEGER");
  const notifications = sqliteNotificationsRepository(db);
  const q = {
    insert: db.prepare("INSERT OR IGNORE INTO users (id, username, display_name, password_hash, created_at) VALUES (?, ?, ?, ?, ?)"),
    byName: db.prepare<[string], UserRow>("SELECT * FROM users WHERE username = ?"),
    byId: db.prepare<[string], UserRow>("SELECT * FROM users WHERE id = ?"),
    putToken: db.prepare("INSERT INTO refresh_tokens (token_hash, user_id, device_id, expires_at, used_at) VALUES (?, ?, ?, ?, NULL)"),
    // Logging in again, or a detected reuse, revokes every token of the device.
    revokeDevice: db.prepare("DELETE FROM refresh_tokens WHERE user_id = ? AND device_id = ?"),
    dropExpired: db.prepare("DELETE FROM refresh_tokens WHERE user_id = ? AND device_id = ? AND expires_at <= ?"),
    token: db.prepare<[string], { token_hash: string; user_id: string; device_id: string; expires_at: number; used_at: number | null }>(
      "SELECT * FROM refresh_tokens WHERE token_hash = ?",
    ),
    markUsed: db.prepare("UPDATE refresh_tokens SET used_at = ? WHERE token_hash = ?"),
    held: db.prepare<[string, string, string], { one: number }>("SELECT 1 AS one FROM refresh_tokens WHERE token_hash = ? AND user_id = ? AND device_id = ?"),
    registerDevice: db.prepare("INSERT OR IGNORE INTO devices (user_id, device_id, registered_at) VALUES (?, ?, ?)"),
    forgetDevice: db.prepare("DELETE FROM devices WHERE user_id = ? AND device_id = ?"),
    devicesOf: db.prepare<[string], { user_id: string; device_id: string; registered_at: number }>(
      "SELECT user_id, device_id, registered_at FROM devices WHERE user_id IN (SELECT value FROM json_each(?)) ORDER BY user_id, device_id",
    ),
  };
  const putToken = db.transaction((r: RefreshTokenRecord, put: RefreshTokenPut): boolean => {
    if (put.newFamily) {
      q.revokeDevice.run(r.userId, r.deviceId);
      q.registerDevice.run(r.userId, r.deviceId, put.now);
    } else {
      if (!q.held.get(put.replaces, r.userId, r.deviceId)) return false;
      // Used tokens are kept until they expire (to recognise their reuse), no longer.
      q.dropExpired.run(r.userId, r.deviceId, put.now);
    }
    q.putToken.run(r.tokenHash, r.userId, r.deviceId, r.expiresAt);
    return true;
  });
  const takeToken = db.transaction((hash: string, now: number) => {
    const row = q.token.get(hash);
    if (!row) return undefined;
    const record: RefreshTokenRecord = { tokenHash: row.token_hash, userId: row.user_id, deviceId: row.device_id, expiresAt: row.expires_at };
    if (row.used_at !== null) {
      q.revokeDevice.run(row.user_id, row.device_id);
      return { use: "reused" as const, record };
    }
    q.markUsed.run(now, hash);
    return { use: "fresh" as const, record };
  });
  const removeDevice = db.transaction((userId: string, deviceId: string) => {
    q.revokeDevice.run(userId, deviceId);
    q.forgetDevice.run(userId, deviceId);
    // A device that logged out is not woken any more, not even by a provider's stale token.
    notifications.forgetDevice(userId, deviceId);
  });
  return {
    ...sqliteContactsRepository(db),
    ...notifications.repo,
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
    async putRefreshToken(r, put) {
      return putToken(r, put);
    },
    async takeRefreshToken(hash, now) {
      return takeToken(hash, now);
    },
    async removeDevice(userId, deviceId) {
      removeDevice(userId, deviceId);
    },
    async devicesOf(userIds): Promise<DeviceRecord[]> {
      return q.devicesOf.all(JSON.stringify(userIds)).map((r) => ({ userId: r.user_id, deviceId: r.device_id, registeredAt: r.registered_at }));
    },
    async close() {
      db.close();
    },
  };
}
