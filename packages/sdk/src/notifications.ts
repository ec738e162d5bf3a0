import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Client } from "@connectrpc/connect";
import type { MutedConversation, NotificationSettings as NotificationSettingsProto, NotificationsService } from "@messenger/proto/accounts/v1/notifications_service";
import { ApnsEnvironment, type PushRegistrationSchema } from "@messenger/proto/accounts/v1/types";
import type { AuthedCall, Page } from "./contacts.js";

/** Notification settings in plain words. */
export interface NotificationSettings {
  /** Notifications show the sender and the text; off: content-free, the device fetches the message. */
  readonly previews: boolean;
  /** Do-not-disturb: off, until a time, or until turned off. */
  readonly doNotDisturb: "off" | "forever" | Date;
}

/** One muted conversation: until a time, or until unmuted. */
export interface Mute {
  readonly conversationId: string;
  readonly until: Date | "forever";
}

/** A browser's PushSubscription.toJSON(): the endpoint and its keys, base64url. */
export interface WebPushSubscriptionJson {
  readonly endpoint: string;
  readonly keys: { readonly p256dh: string; readonly auth: string };
}

function settingsFromProto(s: NotificationSettingsProto | undefined): NotificationSettings {
  const until = s?.doNotDisturbUntil;
  return { previews: s?.previews ?? false, doNotDisturb: s?.doNotDisturbForever ? "forever" : until ? timestampDate(until) : "off" };
}

function muteFromProto(m: MutedConversation | undefined): Mute {
  return { conversationId: m?.conversationId ?? "", until: m?.until ? timestampDate(m.until) : "forever" };
}

/**
 * Push registration of this device and the notification settings of the signed-in user
 * (messenger.accounts.v1.NotificationsService). Logging out removes the registration.
 */
export class NotificationsApi {
  constructor(
    private readonly client: () => Client<typeof NotificationsService>,
    private readonly authed: AuthedCall,
  ) {}

  /** Registers this device's Web Push subscription, replacing its earlier registration. */
  async registerWebPush(subscription: WebPushSubscriptionJson): Promise<void> {
    const { endpoint, keys } = subscription;
    await this.register({ case: "webPush", value: { endpoint, p256dh: keys.p256dh, auth: keys.auth } });
  }

  /** Registers this device's FCM registration token, replacing its earlier registration. */
  async registerFcm(token: string): Promise<void> {
    await this.register({ case: "fcm", value: { token } });
  }

  /** Registers this device's APNs device token (hex) for the given environment, replacing its earlier registration. */
  async registerApns(token: string, environment: "sandbox" | "production"): Promise<void> {
    await this.register({ case: "apns", value: { token, environment: environment === "sandbox" ? ApnsEnvironment.SANDBOX : ApnsEnvironment.PRODUCTION } });
  }

  /** Stops push notifications to this device. */
  async unregister(): Promise<void> {
    await this.authed((h) => this.client().unregisterPush({}, h));
  }

  async getSettings(): Promise<NotificationSettings> {
    return settingsFromProto((await this.authed((h) => this.client().getNotificationSettings({}, h))).settings);
  }

  /** Changes only the settings given; a do-not-disturb Date must be in the future. */
  async updateSettings(change: Partial<NotificationSettings>): Promise<NotificationSettings> {
    const mask: string[] = [];
    if (change.previews !== undefined) mask.push("previews");
    if (change.doNotDisturb !== undefined) mask.push("do_not_disturb_until", "do_not_disturb_forever");
    if (mask.length === 0) return this.getSettings();
    const dnd = change.doNotDisturb;
    const settings = {
      previews: change.previews ?? false,
      doNotDisturbForever: dnd === "forever",
      ...(dnd instanceof Date ? { doNotDisturbUntil: timestampFromDate(dnd) } : {}),
    };
    return settingsFromProto((await this.authed((h) => this.client().updateNotificationSettings({ settings, updateMask: mask }, h))).settings);
  }

  /** Mutes a conversation until `until`, or forever when it is not given. */
  async mute(conversationId: string, until?: Date): Promise<Mute> {
    const req = until ? { conversationId, until: timestampFromDate(until) } : { conversationId, forever: true };
    return muteFromProto((await this.authed((h) => this.client().muteConversation(req, h))).muted);
  }

  async unmute(conversationId: string): Promise<void> {
    await this.authed((h) => this.client().unmuteConversation({ conversationId }, h));
  }

  /** One page of the conversations muted now, by conversation id. */
  async muted(pageSize = 100, pageToken = ""): Promise<Page<Mute>> {
    const res = await this.authed((h) => this.client().listMutedConversations({ pageSize, pageToken }, h));
    return { items: res.conversations.map(muteFromProto), nextPageToken: res.nextPageToken };
  }

  private async register(registration: NonNullable<MessageInitShape<typeof PushRegistrationSchema>["registration"]>): Promise<void> {
    await this.authed((h) => this.client().registerPush({ registration: { registration } }, h));
  }
}
