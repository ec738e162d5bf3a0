import type Database from "better-sqlite3";
import type { PushRegistration } from "../domain/push-registration.js";
import type { MutedConversationRecord, NotificationSettingsChange, NotificationsRepository, StoredNotificationSettings, Until } from "./notifications-repository.js";
import { fieldsOf, registrationOf, type PushRegistrationFields } from "./push-registration-fields.js";

/** A stored end: NULL is forever. */
const untilOf = (ms: number | null): Until => (ms === null ? "forever" : ms);
const untilColumn = (u: Until): number | null => (u === "forever" ? null : u);

/** The notifications tables, created at open if missing (a file from before gains them empty). */
function migrate(db: Database.Database): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS push_registrations (
      user_id TEXT NOT NULL, device_id TEXT NOT NULL, kind TEXT NOT NULL, address TEXT NOT NULL,
      p256dh TEXT NOT NULL, auth TEXT NOT NULL, environment TEXT NOT NULL, registered_at INTEGER NOT NULL,
      PRIMARY KEY (user_id, device_id)
    ) WITHOUT ROWID;
    CREATE UNIQUE INDEX IF NOT EXISTS push_registrations_by_address ON push_registrations (kind, address);
    CREATE TABLE IF NOT EXISTS notification_settings (
      user_id TEXT PRIMARY KEY, previews INTEGER NOT NULL, dnd INTEGER NOT NULL, dnd_until INTEGER
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS muted_conversations (
      user_id TEXT NOT NULL, conversation_id TEXT NOT NULL, until_ms INTEGER,
      PRIMARY KEY (user_id, conversation_id)
    ) WITHOUT ROWID;
  `);
}

/**
 * The notifications adapter over the accounts file. Needs the `devices` table (a
 * registration belongs to a registered device); `forgetDevice` deletes a device's
 * registration, for the logout transaction to run with the rest of it.
 */
export function sqliteNotificationsRepository(db: Database.Database): { repo: NotificationsRepository; forgetDevice(userId: string, deviceId: string): void } {
  migrate(db);
  const q = {
    deviceExists: db.prepare<[string, string], { one: number }>("SELECT 1 AS one FROM devices WHERE user_id = ? AND device_id = ?"),
    dropAddress: db.prepare("DELETE FROM push_registrations WHERE kind = ? AND address = ?"),
    putRegistration: db.prepare(
      `INSERT INTO push_registrations (user_id, device_id, kind, address, p256dh, auth, environment, registered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (user_id, device_id) DO UPDATE SET kind = excluded.kind, address = excluded.address, p256dh = excluded.p256dh,
         auth = excluded.auth, environment = excluded.environment, registered_at = excluded.registered_at`,
    ),
    dropDevice: db.prepare("DELETE FROM push_registrations WHERE user_id = ? AND device_id = ?"),
    dropIfSame: db.prepare(
      "DELETE FROM push_registrations WHERE user_id = ? AND device_id = ? AND kind = ? AND address = ? AND p256dh = ? AND auth = ? AND environment = ?",
    ),
    registrations: db.prepare<[string], PushRegistrationFields & { device_id: string }>(
      "SELECT device_id, kind, address, p256dh, auth, environment FROM push_registrations WHERE user_id = ? ORDER BY device_id",
    ),
    settings: db.prepare<[string], { previews: number; dnd: number; dnd_until: number | null }>("SELECT previews, dnd, dnd_until FROM notification_settings WHERE user_id = ?"),
    putSettings: db.prepare(
      `INSERT INTO notification_settings (user_id, previews, dnd, dnd_until) VALUES (?, ?, ?, ?)
       ON CONFLICT (user_id) DO UPDATE SET previews = excluded.previews, dnd = excluded.dnd, dnd_until = excluded.dnd_until`,
    ),
    dropEndedMutes: db.prepare("DELETE FROM muted_conversations WHERE user_id = ? AND until_ms IS NOT NULL AND until_ms <= ?"),
    muteExists: db.prepare<[string, string], { one: number }>("SELECT 1 AS one FROM muted_conversations WHERE user_id = ? AND conversation_id = ?"),
    muteCount: db.prepare<[string], { n: number }>("SELECT count(*) AS n FROM muted_conversations WHERE user_id = ?"),
    putMute: db.prepare(
      `INSERT INTO muted_conversations (user_id, conversation_id, until_ms) VALUES (?, ?, ?)
       ON CONFLICT (user_id, conversation_id) DO UPDATE SET until_ms = excluded.until_ms`,
    ),
    unmute: db.prepare("DELETE FROM muted_conversations WHERE user_id = ? AND conversation_id = ?"),
    mute: db.prepare<[string, string, number], { until_ms: number | null }>(
      "SELECT until_ms FROM muted_conversations WHERE user_id = ? AND conversation_id = ? AND (until_ms IS NULL OR until_ms > ?)",
    ),
    mutes: db.prepare<[string, string, number, number], { conversation_id: string; until_ms: number | null }>(
      `SELECT conversation_id, until_ms FROM muted_conversations
       WHERE user_id = ? AND conversation_id > ? AND (until_ms IS NULL OR until_ms > ?) ORDER BY conversation_id LIMIT ?`,
    ),
  };
  const settingsOf = (userId: string): StoredNotificationSettings | undefined => {
    const row = q.settings.get(userId);
    return row ? { previews: row.previews === 1, doNotDisturb: row.dnd === 1 ? untilOf(row.dnd_until) : undefined } : undefined;
  };
  const putRegistration = db.transaction((userId: string, deviceId: string, r: PushRegistration, now: number): "stored" | "no_device" => {
    if (!q.deviceExists.get(userId, deviceId)) return "no_device";
    const c = fieldsOf(r);
    q.dropAddress.run(c.kind, c.address);
    q.putRegistration.run(userId, deviceId, c.kind, c.address, c.p256dh, c.auth, c.environment, now);
    return "stored";
  });
  const updateSettings = db.transaction((userId: string, change: NotificationSettingsChange, defaults: StoredNotificationSettings) => {
    const before = settingsOf(userId) ?? defaults;
    const after: StoredNotificationSettings = {
      previews: change.previews ?? before.previews,
      doNotDisturb: change.doNotDisturb === undefined ? before.doNotDisturb : (change.doNotDisturb ?? undefined),
    };
    const dnd = after.doNotDisturb;
    q.putSettings.run(userId, after.previews ? 1 : 0, dnd === undefined ? 0 : 1, dnd === undefined ? null : untilColumn(dnd));
    return after;
  });
  const mute = db.transaction((userId: string, conversationId: string, until: Until, now: number, maxMuted: number): boolean => {
    q.dropEndedMutes.run(userId, now);
    if (!q.muteExists.get(userId, conversationId) && q.muteCount.get(userId)!.n >= maxMuted) return false;
    q.putMute.run(userId, conversationId, untilColumn(until));
    return true;
  });
  return {
    forgetDevice(userId, deviceId) {
      q.dropDevice.run(userId, deviceId);
    },
    repo: {
      async putPushRegistration(userId, deviceId, registration, now) {
        return putRegistration(userId, deviceId, registration, now);
      },
      async removePushRegistration(userId, deviceId, only) {
        if (!only) return q.dropDevice.run(userId, deviceId).changes > 0;
        const c = fieldsOf(only);
        return q.dropIfSame.run(userId, deviceId, c.kind, c.address, c.p256dh, c.auth, c.environment).changes > 0;
      },
      async pushRegistrations(userId) {
        return q.registrations.all(userId).map((row) => ({ deviceId: row.device_id, registration: registrationOf(row) }));
      },
      async notificationSettings(userId) {
        return settingsOf(userId);
      },
      async updateNotificationSettings(userId, change, defaults) {
        return updateSettings(userId, change, defaults);
      },
      async muteConversation(userId, conversationId, until, now, maxMuted) {
        return mute(userId, conversationId, until, now, maxMuted);
      },
      async unmuteConversation(userId, conversationId) {
        q.unmute.run(userId, conversationId);
      },
      async mutedUntil(userId, conversationId, now) {
        const row = q.mute.get(userId, conversationId, now);
        return row ? untilOf(row.until_ms) : undefined;
      },
      async mutedConversations(userId, now, after, limit): Promise<MutedConversationRecord[]> {
        return q.mutes.all(userId, after, now, limit).map((row) => ({ conversationId: row.conversation_id, until: untilOf(row.until_ms) }));
      },
    },
  };
}
