import { create } from "@bufbuild/protobuf";
import { timestampFromMs, timestampMs, type Timestamp } from "@bufbuild/protobuf/wkt";
import { MutedConversationSchema, NotificationSettingsSchema, type MutedConversation, type NotificationSettings as NotificationSettingsProto } from "@messenger/proto/accounts/v1/notifications_service";
import { ApnsEnvironment, PushRegistrationSchema, type PushRegistration as PushRegistrationProto } from "@messenger/proto/accounts/v1/types";
import type { NotificationSettings, NotificationSettingsInput } from "../domain/notifications.js";
import type { PushRegistration, PushRegistrationInput } from "../domain/push-registration.js";
import type { MutedConversationRecord } from "../storage/notifications-repository.js";

const environmentNames: Partial<Record<ApnsEnvironment, "sandbox" | "production">> = {
  [ApnsEnvironment.SANDBOX]: "sandbox",
  [ApnsEnvironment.PRODUCTION]: "production",
};

/** A registration from the wire, unchecked (the domain validates); undefined when none is set. */
export function registrationFromProto(r: PushRegistrationProto | undefined): PushRegistrationInput | undefined {
  const reg = r?.registration;
  switch (reg?.case) {
    case "webPush":
      return { kind: "web_push", endpoint: reg.value.endpoint, p256dh: reg.value.p256dh, auth: reg.value.auth };
    case "fcm":
      return { kind: "fcm", token: reg.value.token };
    case "apns":
      // An unknown or UNSPECIFIED environment becomes "", which the domain refuses by name.
      return { kind: "apns", token: reg.value.token, environment: environmentNames[reg.value.environment] ?? "" };
    default:
      return undefined;
  }
}

export function registrationToProto(r: PushRegistration): PushRegistrationProto {
  switch (r.kind) {
    case "web_push":
      return create(PushRegistrationSchema, { registration: { case: "webPush", value: { endpoint: r.endpoint, p256dh: r.p256dh, auth: r.auth } } });
    case "fcm":
      return create(PushRegistrationSchema, { registration: { case: "fcm", value: { token: r.token } } });
    case "apns": {
      const environment = r.environment === "sandbox" ? ApnsEnvironment.SANDBOX : ApnsEnvironment.PRODUCTION;
      return create(PushRegistrationSchema, { registration: { case: "apns", value: { token: r.token, environment } } });
    }
  }
}

const msOf = (t: Timestamp | undefined): number | undefined => (t ? timestampMs(t) : undefined);

export function settingsToProto(s: NotificationSettings): NotificationSettingsProto {
  const dnd = s.doNotDisturb;
  return create(NotificationSettingsSchema, {
    previews: s.previews,
    doNotDisturbForever: dnd === "forever",
    ...(typeof dnd === "number" ? { doNotDisturbUntil: timestampFromMs(dnd) } : {}),
  });
}

/** Settings from the wire; no message at all reads as every field zero (previews off, do-not-disturb off). */
export function settingsFromProto(s: NotificationSettingsProto | undefined): NotificationSettingsInput {
  const untilMs = msOf(s?.doNotDisturbUntil);
  return {
    previews: s?.previews ?? false,
    doNotDisturb: { ...(untilMs !== undefined ? { untilMs } : {}), forever: s?.doNotDisturbForever ?? false },
  };
}

export function untilFromProto(until: Timestamp | undefined, forever: boolean): { untilMs?: number; forever: boolean } {
  const untilMs = msOf(until);
  return { ...(untilMs !== undefined ? { untilMs } : {}), forever };
}

export function mutedToProto(m: MutedConversationRecord): MutedConversation {
  return create(MutedConversationSchema, {
    conversationId: m.conversationId,
    forever: m.until === "forever",
    ...(m.until !== "forever" ? { until: timestampFromMs(m.until) } : {}),
  });
}
