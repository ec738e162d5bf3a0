/**
 * The push worker's ports: what it asks of accounts (where a user's devices can be reached and
 * what the user wants), and what a push provider does with one notification for one device.
 * Providers (Web Push, FCM, APNs) and the worker are written against these.
 */

/** Where one device can be woken, as the device registered it with accounts. */
export type PushRegistration =
  | { readonly kind: "web_push"; readonly endpoint: string; readonly p256dh: string; readonly auth: string }
  | { readonly kind: "fcm"; readonly token: string }
  | { readonly kind: "apns"; readonly token: string; readonly environment: "sandbox" | "production" };

/** One device of the user with its registration. */
export interface PushDevice {
  readonly deviceId: string;
  readonly registration: PushRegistration;
}

/** What the worker needs to decide about one user and one conversation, at one moment. */
export interface PushTargets {
  /** The user's devices that registered for push. */
  readonly devices: readonly PushDevice[];
  /** Previews on: the notification carries the sender's name and the text (default off: content-free). */
  readonly previews: boolean;
  /** Do-not-disturb in force now: nothing visible, badge updates only. */
  readonly doNotDisturb: boolean;
  /** The conversation is muted now: nothing visible, badge updates only. */
  readonly muted: boolean;
  /** The display name of the message's author, for a preview; empty when unknown. */
  readonly senderName: string;
}

/**
 * One notification for one device. `visible` ones show (and replace the conversation's last
 * one: `collapseKey`); the others only update the badge or clear what is shown, silently.
 */
export interface PushNotification {
  readonly kind: "message" | "read";
  readonly visible: boolean;
  readonly conversationId: string;
  /** The message it announces (kind "message"), else the seq read up to. */
  readonly seq: bigint;
  readonly messageId: string;
  /** The user's total unread count after this. */
  readonly badge: number;
  /** One visible notification per conversation: the next replaces it. */
  readonly collapseKey: string;
  /** Unique per device and message: a provider may use it to drop a repeat. */
  readonly idempotencyKey: string;
  /** Only with previews on and for a visible message notification. */
  readonly preview?: { readonly senderName: string; readonly text: string };
}

/** What a provider answered for one send. */
export type SendOutcome =
  /** The provider took it: acknowledge. */
  | { readonly outcome: "accepted"; readonly status: number }
  /** Try again later (429, 5xx, a network error), not before `retryAfterMs` when the provider said so. */
  | { readonly outcome: "retry"; readonly status: number; readonly reason: string; readonly retryAfterMs?: number }
  /** The registration is gone for good (404, 410, an unregistered token): delete it. */
  | { readonly outcome: "gone"; readonly status: number; readonly reason: string }
  /** Refused for what it is (400, 403, 413 …): retrying would not help. */
  | { readonly outcome: "rejected"; readonly status: number; readonly reason: string };

/** One push protocol. */
export interface PushProvider {
  readonly kind: PushRegistration["kind"];
  send(registration: PushRegistration, notification: PushNotification): Promise<SendOutcome>;
  close(): Promise<void>;
}
