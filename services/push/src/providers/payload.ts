import type { PushNotification } from "../domain/push-ports.js";

/**
 * The one payload every provider carries to the device. Content-free unless the notification
 * has a preview: then, and only then, the sender's name and the text travel too.
 */
export interface PushPayload {
  readonly type: "message" | "read";
  readonly conversation_id: string;
  /** A decimal string: a bigint does not survive JSON. */
  readonly seq: string;
  readonly message_id: string;
  readonly badge: number;
  /**
   * Present (true) when nothing should be shown: a read, a muted conversation, do-not-disturb.
   * A browser's service worker cannot receive a push without being able to show something, so
   * it must be told; FCM and APNs carry the same through their own message kinds.
   */
  readonly silent?: true;
  readonly preview?: { readonly sender_name: string; readonly text: string };
}

/**
 * A preview's text is cut to this many characters: every provider caps the whole payload at
 * about 4 KB (Web Push 4096 bytes of record, FCM 4 KB of data, APNs 4 KB of JSON), and a
 * notification shows a line or two anyway.
 */
export const maxPreviewChars = 500;

/** The payload of one notification. */
export function pushPayload(notification: PushNotification): PushPayload {
  const base = {
    type: notification.kind,
    conversation_id: notification.conversationId,
    seq: notification.seq.toString(),
    message_id: notification.messageId,
    badge: notification.badge,
    ...(notification.visible ? {} : { silent: true as const }),
  };
  const preview = notification.preview;
  if (!preview) return base;
  return { ...base, preview: { sender_name: truncate(preview.senderName, 100), text: truncate(preview.text, maxPreviewChars) } };
}

/** Cuts by code points so a surrogate pair is never split. */
function truncate(text: string, max: number): string {
  const points = Array.from(text);
  return points.length <= max ? text : `${points.slice(0, max - 1).join("")}…`;
}
