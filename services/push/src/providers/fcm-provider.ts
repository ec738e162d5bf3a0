import type { PushNotification, PushProvider, PushRegistration, SendOutcome } from "../domain/push-ports.js";
import type { FcmServiceAccount } from "./fcm-service-account.js";
import { AccessTokenError, googleAccessTokens } from "./google-access-token.js";
import { clip, networkFailure, outcomeOfStatus } from "./http-outcome.js";
import { pushPayload } from "./payload.js";

/** How the FCM provider is set up. */
export interface FcmOptions {
  readonly serviceAccount: FcmServiceAccount;
  /** @default "https://fcm.googleapis.com" */
  readonly baseUrl?: string;
  /** How long FCM keeps an undelivered message (android.ttl). @default 86400 */
  readonly ttlSeconds?: number;
  /** The title of a visible notification without preview. @default "New message" */
  readonly genericTitle?: string;
  /** @default 10000 */
  readonly timeoutMs?: number;
  /** The clock for token expiry, assertions and Retry-After dates. @default Date.now */
  readonly now?: () => number;
}

/** The FCM provider, with the number of OAuth exchanges it made. */
export interface FcmProvider extends PushProvider {
  readonly tokenExchanges: number;
}

/** The FCM HTTP v1 body for one notification to one registration token. */
export function fcmMessage(token: string, notification: PushNotification, options: { ttlSeconds: number; genericTitle: string }): { message: Record<string, unknown> } {
  const payload = pushPayload(notification);
  const data: Record<string, string> = {
    type: payload.type,
    conversation_id: payload.conversation_id,
    seq: payload.seq,
    message_id: payload.message_id,
    badge: String(payload.badge),
    ...(payload.preview ? { sender_name: payload.preview.sender_name, text: payload.preview.text } : {}),
  };
  const shown = notification.visible
    ? {
        notification: {
          ...(payload.preview ? { title: payload.preview.sender_name, body: payload.preview.text } : { title: options.genericTitle }),
          tag: notification.collapseKey,
          notification_count: notification.badge,
        },
      }
    : {};
  return {
    message: {
      token,
      data,
      android: { collapse_key: notification.collapseKey, priority: notification.visible ? "HIGH" : "NORMAL", ttl: `${options.ttlSeconds}s`, ...shown },
    },
  };
}

/**
 * Firebase Cloud Messaging over HTTP v1 for Android devices. A visible notification carries an
 * android.notification (sender and text with previews on, else a generic title, never the
 * content), tagged with the collapse key so the next one for the conversation replaces it, and
 * the badge as notification_count: it shows even when the app is not running, as content-free
 * messengers do. A silent one (read, badge) is data-only at NORMAL priority: the app wakes,
 * updates its badge and clears what it showed. Every message carries the payload as data.
 * The OAuth token is cached and renewed once when FCM answers 401.
 */
export function createFcmProvider(options: FcmOptions): FcmProvider {
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const body = { ttlSeconds: options.ttlSeconds ?? 86_400, genericTitle: options.genericTitle ?? "New message" };
  const url = `${(options.baseUrl ?? "https://fcm.googleapis.com").replace(/\/+$/, "")}/v1/projects/${encodeURIComponent(options.serviceAccount.project_id)}/messages:send`;
  const tokens = googleAccessTokens(options.serviceAccount, { now, timeoutMs });

  async function attempt(json: string): Promise<SendOutcome | "unauthorized"> {
    let accessToken: string;
    try {
      accessToken = await tokens.get();
    } catch (error) {
      if (error instanceof AccessTokenError) return error.outcome;
      throw error;
    }
    let response: Response;
    try {
      response = await fetch(url, {
        method: "POST",
        headers: { authorization: `Bearer ${accessToken}`, "content-type": "application/json; charset=utf-8" },
        body: json,
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      return networkFailure(error);
    }
    const text = await response.text().catch(() => "");
    if (response.status === 401) {
      tokens.invalidate(accessToken);
      return "unauthorized";
    }
    return outcomeOfFcm(response.status, text, response.headers.get("retry-after"), now());
  }

  async function send(registration: PushRegistration, notification: PushNotification): Promise<SendOutcome> {
    if (registration.kind !== "fcm") return { outcome: "rejected", status: 0, reason: `FCM cannot send to a ${registration.kind} registration` };
    const json = JSON.stringify(fcmMessage(registration.token, notification, body));
    const first = await attempt(json);
    if (first !== "unauthorized") return first;
    // The token was revoked or expired early: one fresh token, once.
    const second = await attempt(json);
    return second === "unauthorized" ? { outcome: "rejected", status: 401, reason: "FCM refused a freshly issued access token" } : second;
  }

  return {
    kind: "fcm",
    get tokenExchanges() {
      return tokens.exchanges;
    },
    send,
    close: async () => {},
  };
}

/** FCM's answer (https://firebase.google.com/docs/reference/fcm/rest/v1/ErrorCode) as an outcome. */
function outcomeOfFcm(status: number, text: string, retryAfter: string | null, now: number): SendOutcome {
  const error = parseFcmError(text);
  const reason = clip(`${status} ${error.errorCode ?? error.status ?? ""} ${error.message ?? text}`.replace(/\s+/g, " ").trim());
  if (error.errorCode === "UNREGISTERED" || status === 404) return { outcome: "gone", status, reason };
  // The token belongs to another Firebase project: it will never be ours to send to.
  if (error.errorCode === "SENDER_ID_MISMATCH") return { outcome: "gone", status, reason };
  if (status === 400 && /registration token/i.test(error.message ?? "")) return { outcome: "gone", status, reason };
  return outcomeOfStatus(status, reason, retryAfter, now);
}

function parseFcmError(text: string): { status?: string; message?: string; errorCode?: string } {
  try {
    const body = JSON.parse(text) as { error?: { status?: unknown; message?: unknown; details?: unknown } };
    const error = body.error;
    if (!error) return {};
    const details = Array.isArray(error.details) ? (error.details as Array<{ errorCode?: unknown }>) : [];
    const errorCode = details.map((d) => d.errorCode).find((c): c is string => typeof c === "string");
    return {
      ...(typeof error.status === "string" ? { status: error.status } : {}),
      ...(typeof error.message === "string" ? { message: error.message } : {}),
      ...(errorCode ? { errorCode } : {}),
    };
  } catch {
    return {};
  }
}
