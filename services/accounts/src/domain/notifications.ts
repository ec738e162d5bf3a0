import { DomainError } from "@messenger/rpc/domain-error";
import type { DeviceRegistration, MutedConversationRecord, NotificationSettingsChange, NotificationsRepository, StoredNotificationSettings, Until } from "../storage/notifications-repository.js";
import { decodePageToken, encodePageToken, pageOf, pageSizeOf, type Page } from "./page.js";
import { normalisePushRegistration, validatePushRegistration, type PushRegistration, type PushRegistrationInput, type PushRegistrationPolicy } from "./push-registration.js";

/** A user's settings as answered: a do-not-disturb that ended reads as off. */
export type NotificationSettings = StoredNotificationSettings;

/** Content-free notifications, no do-not-disturb: what a user who never chose gets. */
export const defaultNotificationSettings: NotificationSettings = { previews: false, doNotDisturb: undefined };

/** An end as a caller gave it: a time, or forever (exactly one). */
export interface UntilInput {
  readonly untilMs?: number;
  readonly forever: boolean;
}

/** New settings with the fields a mask may name, as spelled in the NotificationSettings message. */
export interface NotificationSettingsInput {
  readonly previews: boolean;
  readonly doNotDisturb: { readonly untilMs?: number; readonly forever: boolean };
}

/** What decides one user's notifications about one conversation, now. */
export interface PushTargets {
  readonly devices: DeviceRegistration[];
  readonly previews: boolean;
  readonly doNotDisturb: boolean;
  readonly muted: boolean;
}

/** Mutes one user may hold at once, unless configured otherwise. */
export const defaultMaxMutedConversations = 10_000;

/** The options of the notifications use cases. */
export interface NotificationsOptions extends PushRegistrationPolicy {
  /** Mutes one user may hold at once. @default defaultMaxMutedConversations */
  readonly maxMutedConversations?: number;
}

const maskFields: readonly string[] = ["previews", "do_not_disturb_until", "do_not_disturb_forever"];
const maxConversationIdChars = 128;
/** 9999-12-31T23:59:59.999Z: the last instant a google.protobuf.Timestamp can carry. */
const maxTimestampMs = 253_402_300_799_999;
const mutesList = "muted";

const inForce = (until: Until | undefined, now: number): boolean => until === "forever" || (until !== undefined && until > now);

/** Device push registrations and the notification settings of users. */
export class Notifications {
  private readonly maxMuted: number;

  constructor(
    private readonly repo: NotificationsRepository,
    private readonly options: NotificationsOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.maxMuted = options.maxMutedConversations ?? defaultMaxMutedConversations;
  }

  /**
   * Replaces the device's registration with a valid one. FAILED_PRECONDITION when the device
   * is not registered: its access token outlives its logout, but a logged-out device must
   * not be woken.
   */
  async registerPush(userId: string, deviceId: string, input: PushRegistrationInput | undefined): Promise<PushRegistration> {
    const registration = validatePushRegistration(input, this.options);
    if ((await this.repo.putPushRegistration(userId, deviceId, registration, this.now())) === "no_device") {
      throw new DomainError("failed_precondition", `device ${deviceId} is not registered (it logged out): log in again`);
    }
    return registration;
  }

  async unregisterPush(userId: string, deviceId: string): Promise<void> {
    await this.repo.removePushRegistration(userId, deviceId);
  }

  /**
   * Deletes a registration a provider refused for good, only while the device still holds
   * that very one: a device that registered again since keeps its new registration.
   */
  async removeRegistration(userId: string, deviceId: string, registration: PushRegistrationInput | undefined): Promise<boolean> {
    if (!userId || !deviceId) throw new DomainError("invalid_argument", "user_id and device_id are required");
    if (!registration) throw new DomainError("invalid_argument", "registration is required: the one the provider refused");
    return this.repo.removePushRegistration(userId, deviceId, normalisePushRegistration(registration));
  }

  async settings(userId: string): Promise<NotificationSettings> {
    return this.shown((await this.repo.notificationSettings(userId)) ?? defaultNotificationSettings);
  }

  /** The settings as the user sees them: a do-not-disturb that ended is off. */
  private shown(stored: NotificationSettings): NotificationSettings {
    return inForce(stored.doNotDisturb, this.now()) ? stored : { ...stored, doNotDisturb: undefined };
  }

  /**
   * Sets the fields named in `mask` (every field when it is empty). The two do-not-disturb
   * names are one setting, set from both values. An unknown name or a bad value refuses the
   * whole update.
   */
  async updateSettings(userId: string, values: NotificationSettingsInput, mask: readonly string[]): Promise<NotificationSettings> {
    const unknown = mask.filter((name) => !maskFields.includes(name));
    if (unknown.length > 0) {
      throw new DomainError("invalid_argument", `unknown update_mask field ${unknown.join(", ")}; expected ${maskFields.join(", ")}`);
    }
    const named = (field: string): boolean => mask.length === 0 || mask.includes(field);
    const change: NotificationSettingsChange = {
      ...(named("previews") ? { previews: values.previews } : {}),
      ...(named("do_not_disturb_until") || named("do_not_disturb_forever") ? { doNotDisturb: this.doNotDisturbOf(values.doNotDisturb) } : {}),
    };
    return this.shown(await this.repo.updateNotificationSettings(userId, change, defaultNotificationSettings));
  }

  /** Mutes a conversation until a time or forever (replacing an earlier end). */
  async mute(userId: string, conversationId: string, end: UntilInput): Promise<MutedConversationRecord> {
    checkConversationId(conversationId);
    if (end.untilMs === undefined && !end.forever) throw new DomainError("invalid_argument", "give until or forever");
    const until = this.untilOf(end, "until");
    if (!(await this.repo.muteConversation(userId, conversationId, until, this.now(), this.maxMuted))) {
      throw new DomainError("resource_exhausted", `at most ${this.maxMuted} muted conversations: unmute some first`);
    }
    return { conversationId, until };
  }

  /** Ends a mute; nothing happens when the conversation is not muted. */
  async unmute(userId: string, conversationId: string): Promise<void> {
    checkConversationId(conversationId);
    await this.repo.unmuteConversation(userId, conversationId);
  }

  /** One page of the mutes in force, by conversation id. */
  async listMuted(userId: string, pageSize: number, pageToken: string): Promise<Page<MutedConversationRecord>> {
    const size = pageSizeOf(pageSize);
    const [after] = pageToken ? decodePageToken(mutesList, pageToken, ["string"] as const) : [""];
    const rows = await this.repo.mutedConversations(userId, this.now(), after, size + 1);
    return pageOf(rows, size, (last) => encodePageToken(mutesList, [last.conversationId]));
  }

  /** The user's registered devices and what the user wants, for one conversation (or none: ""), now. */
  async targets(userId: string, conversationId: string): Promise<PushTargets> {
    if (!userId) throw new DomainError("invalid_argument", "user_id is required");
    const now = this.now();
    const [devices, settings, muted] = await Promise.all([
      this.repo.pushRegistrations(userId),
      this.repo.notificationSettings(userId),
      conversationId ? this.repo.mutedUntil(userId, conversationId, now) : undefined,
    ]);
    const s = settings ?? defaultNotificationSettings;
    return { devices, previews: s.previews, doNotDisturb: inForce(s.doNotDisturb, now), muted: muted !== undefined };
  }

  /** Off when neither is given; a time must be in the future. */
  private doNotDisturbOf(v: { untilMs?: number; forever: boolean }): Until | null {
    if (v.untilMs === undefined && !v.forever) return null;
    return this.untilOf(v, "do_not_disturb_until");
  }

  private untilOf(v: UntilInput, field: string): Until {
    if (v.untilMs !== undefined && v.forever) throw new DomainError("invalid_argument", `give ${field} or forever, not both`);
    if (v.forever) return "forever";
    const ms = v.untilMs!;
    if (!Number.isFinite(ms) || ms > maxTimestampMs) throw new DomainError("invalid_argument", `${field} is not a valid time`);
    if (ms <= this.now()) throw new DomainError("invalid_argument", `${field} must be in the future`);
    return ms;
  }
}

function checkConversationId(id: string): void {
  if (!id || id.length > maxConversationIdChars) throw new DomainError("invalid_argument", `conversation_id must be 1 to ${maxConversationIdChars} characters`);
}
