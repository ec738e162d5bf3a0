import { createHash } from "node:crypto";
import webpush from "web-push";
import type { PushNotification, PushProvider, PushRegistration, SendOutcome } from "../domain/push-ports.js";
import { clip, networkFailure, outcomeOfStatus } from "./http-outcome.js";
import { pushPayload } from "./payload.js";
import type { VapidKeys } from "./vapid-keys.js";

/** How the Web Push provider is set up. */
export interface WebPushOptions {
  readonly vapid: VapidKeys;
  /** How long the push service keeps an undelivered message (TTL header). @default 86400 (a day) */
  readonly ttlSeconds?: number;
  /**
   * Lets endpoints be plain http: (tests' local push services). Off in production: an endpoint
   * is a URL the client chose, and the server should only ever POST to https ones.
   * @default false
   */
  readonly allowHttpEndpoints?: boolean;
  /** @default 10000 */
  readonly timeoutMs?: number;
  /** The clock for Retry-After dates. @default Date.now */
  readonly now?: () => number;
}

/**
 * The Topic of a conversation's notifications (RFC 8030 §5.4: a pending message with the same
 * topic is replaced). A hash of the collapse key: always within the 32 URL-safe base64
 * characters the header allows, and the push service learns no conversation id (the payload
 * itself is encrypted).
 */
export function webPushTopic(collapseKey: string): string {
  return createHash("sha256").update(collapseKey).digest("base64url").slice(0, 32);
}

/**
 * Web Push (RFC 8030) with VAPID (RFC 8292) and the aes128gcm payload encryption of RFC 8291:
 * the `web-push` library signs and encrypts; the request goes out through fetch so any
 * endpoint (and its answer) is handled the same way. Visible notifications go at Urgency high,
 * silent ones (badge, read) at normal.
 */
export function createWebPushProvider(options: WebPushOptions): PushProvider & { readonly vapidPublicKey: string } {
  const ttl = options.ttlSeconds ?? 86_400;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const now = options.now ?? Date.now;
  /**
   * The VAPID Authorization header per push service origin (the JWT's audience), signed once
   * for 12 hours and reused for 11: an ES256 signature per push was a large share of a push's
   * CPU. The JWT may live up to 24 hours (RFC 8292).
   */
  const vapidHeaders = new Map<string, { headers: Record<string, string>; reuseUntil: number }>();
  // Wall-clock time: the push service checks the JWT's exp against its own clock.
  const vapidFor = (origin: string): Record<string, string> => {
    const cached = vapidHeaders.get(origin);
    if (cached && cached.reuseUntil > Date.now()) return cached.headers;
    const expiresAt = Math.floor(Date.now() / 1000) + 12 * 3600;
    const headers = webpush.getVapidHeaders(origin, options.vapid.subject, options.vapid.publicKey, options.vapid.privateKey, "aes128gcm", expiresAt) as Record<string, string>;
    if (vapidHeaders.size > 1_000) vapidHeaders.clear();
    vapidHeaders.set(origin, { headers, reuseUntil: Date.now() + 11 * 3600 * 1000 });
    return headers;
  };

  async function send(registration: PushRegistration, notification: PushNotification): Promise<SendOutcome> {
    if (registration.kind !== "web_push") return { outcome: "rejected", status: 0, reason: `web push cannot send to a ${registration.kind} registration` };
    let endpoint: URL;
    try {
      endpoint = new URL(registration.endpoint);
    } catch {
      return { outcome: "gone", status: 0, reason: "the endpoint is not a URL" };
    }
    if (endpoint.protocol !== "https:" && !(options.allowHttpEndpoints && endpoint.protocol === "http:")) {
      return { outcome: "gone", status: 0, reason: `the endpoint is not https: (${endpoint.protocol})` };
    }
    let details: ReturnType<typeof webpush.generateRequestDetails>;
    try {
      details = webpush.generateRequestDetails(
        { endpoint: registration.endpoint, keys: { p256dh: registration.p256dh, auth: registration.auth } },
        JSON.stringify(pushPayload(notification)),
        {
          headers: vapidFor(endpoint.origin),
          TTL: ttl,
          urgency: notification.visible ? "high" : "normal",
          topic: webPushTopic(notification.collapseKey),
          contentEncoding: "aes128gcm",
        },
      );
    } catch (error) {
      // The subscription's keys cannot be used (wrong length, not on the curve): it never will work.
      return { outcome: "gone", status: 0, reason: `unusable subscription: ${error instanceof Error ? error.message : String(error)}` };
    }
    let response: Response;
    try {
      response = await fetch(details.endpoint, {
        method: details.method,
        headers: details.headers as Record<string, string>,
        ...(details.body ? { body: new Uint8Array(details.body) } : {}),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      return networkFailure(error);
    }
    const text = await response.text().catch(() => "");
    return outcomeOfStatus(response.status, clip(`${response.status} ${response.statusText} ${text}`.trim()), response.headers.get("retry-after"), now());
  }

  return { kind: "web_push", vapidPublicKey: options.vapid.publicKey, send, close: async () => {} };
}
