import type { PushRegistration, PushRegistrationInput } from "../domain/push-registration.js";

/** When something ends: epoch milliseconds, or never. */
export type Until = number | "forever";

/** One device's registration. */
export interface DeviceRegistration {
  readonly deviceId: string;
  readonly registration: PushRegistration;
}

/** A user's notification settings; absent ones are the defaults. */
export interface StoredNotificationSettings {
  readonly previews: boolean;
  /** Do-not-disturb until then (possibly past); undefined: off. */
  readonly doNotDisturb: Until | undefined;
}

/** A change of settings: only the fields present change; `doNotDisturb: null` turns it off. */
export interface NotificationSettingsChange {
  readonly previews?: boolean;
  readonly doNotDisturb?: Until | null;
}

/** One muted conversation. */
export interface MutedConversationRecord {
  readonly conversationId: string;
  readonly until: Until;
}

/**
 * Push registrations and notification settings, placed by user id like the rest of a
 * user's state. The embedded adapter keeps them in the accounts SQLite file.
 */
export interface NotificationsRepository {
  /**
   * Replaces the device's registration, in one write that also checks the device is
   * registered (else "no_device", nothing stored) and takes the address (endpoint or token)
   * from any other device that held it: an address reaches one app install, whose current
   * user alone may be notified there.
   */
  putPushRegistration(userId: string, deviceId: string, registration: PushRegistration, now: number): Promise<"stored" | "no_device">;
  /**
   * Deletes the device's registration; with `only`, just while it is exactly that one.
   * True when something was deleted.
   */
  removePushRegistration(userId: string, deviceId: string, only?: PushRegistrationInput): Promise<boolean>;
  /** The user's registered devices, by device id. */
  pushRegistrations(userId: string): Promise<DeviceRegistration[]>;
  notificationSettings(userId: string): Promise<StoredNotificationSettings | undefined>;
  /** Applies the change over the stored settings (or `defaults`) and returns the result. */
  updateNotificationSettings(userId: string, change: NotificationSettingsChange, defaults: StoredNotificationSettings): Promise<StoredNotificationSettings>;
  /**
   * Mutes (or changes the end of a mute), after dropping the user's mutes that ended by
   * `now`. A new mute beyond `maxMuted` of them is refused (false) and nothing changes.
   */
  muteConversation(userId: string, conversationId: string, until: Until, now: number, maxMuted: number): Promise<boolean>;
  unmuteConversation(userId: string, conversationId: string): Promise<void>;
  /** The mute of one conversation in force at `now`, if any. */
  mutedUntil(userId: string, conversationId: string, now: number): Promise<Until | undefined>;
  /** Up to `limit` mutes in force at `now`, by conversation id, after `afterConversationId`. */
  mutedConversations(userId: string, now: number, afterConversationId: string, limit: number): Promise<MutedConversationRecord[]>;
}
