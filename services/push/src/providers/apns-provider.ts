import { createHash } from "node:crypto";
import { connect, constants, type ClientHttp2Session, type SecureClientSessionOptions } from "node:http2";
import type { PushNotification, PushProvider, PushRegistration, SendOutcome } from "../domain/push-ports.js";
import { apnsProviderTokens } from "./apns-provider-token.js";
import { clip, networkFailure, retry } from "./http-outcome.js";
import { pushPayload } from "./payload.js";
import { parseRetryAfter } from "./retry-after.js";

/** Apple's two gateways. */
export const apnsProductionUrl = "https://api.push.apple.com";
export const apnsSandboxUrl = "https://api.sandbox.push.apple.com";

/** How the APNs provider is set up. */
export interface ApnsOptions {
  /** The .p8 signing key (PKCS#8 PEM) from the Apple developer account. */
  readonly keyPem: string;
  readonly keyId: string;
  readonly teamId: string;
  /** The app's bundle id: the apns-topic. */
  readonly bundleId: string;
  /** Overrides for tests: an h2c `http://` or TLS `https://` origin. */
  readonly productionUrl?: string;
  readonly sandboxUrl?: string;
  /** TLS options for the connection (a test CA, for instance). */
  readonly tls?: SecureClientSessionOptions;
  /** How long APNs keeps an undelivered notification (apns-expiration). @default 86400 */
  readonly ttlSeconds?: number;
  /** The alert body of a visible notification without preview. @default "New message" */
  readonly genericBody?: string;
  /** @default 10000 */
  readonly timeoutMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** The APNs provider, with the number of provider tokens it signed. */
export interface ApnsProvider extends PushProvider {
  readonly tokensSigned: number;
}

/** A canonical UUID derived from the idempotency key, so a retried send carries the same apns-id. */
export function apnsId(idempotencyKey: string): string {
  const bytes = createHash("sha256").update(idempotencyKey).digest().subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x80; // version 8: name-based, custom hash
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80; // RFC 9562 variant
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The apns-collapse-id: the collapse key, or its hash when longer than the 64 bytes APNs allows. */
export function apnsCollapseId(collapseKey: string): string {
  return Buffer.byteLength(collapseKey) <= 64 ? collapseKey : createHash("sha256").update(collapseKey).digest("base64url");
}

/** The request APNs gets for one notification (headers without authorization, and the JSON body). */
export function apnsRequest(notification: PushNotification, options: { bundleId: string; expiresAt: number; genericBody: string }): { headers: Record<string, string>; body: Record<string, unknown> } {
  const payload = pushPayload(notification);
  const aps = notification.visible
    ? {
        alert: payload.preview ? { title: payload.preview.sender_name, body: payload.preview.text } : { body: options.genericBody },
        badge: notification.badge,
        sound: "default",
        "thread-id": notification.conversationId,
        // Lets the app's notification service extension fetch the message and show it (content-free by default).
        "mutable-content": 1,
      }
    : { "content-available": 1, badge: notification.badge };
  return {
    headers: {
      "apns-topic": options.bundleId,
      "apns-push-type": notification.visible ? "alert" : "background",
      "apns-priority": notification.visible ? "10" : "5",
      "apns-collapse-id": apnsCollapseId(notification.collapseKey),
      "apns-expiration": String(Math.floor(options.expiresAt / 1000)),
      "apns-id": apnsId(notification.idempotencyKey),
    },
    body: { ...payload, aps },
  };
}

/**
 * Apple Push Notification service over HTTP/2 with token (.p8) authentication. One HTTP/2
 * session per gateway, kept open across sends (Apple asks providers not to reconnect per
 * request) and opened again after it closes or is told to go away. A visible notification is
 * an alert at priority 10; a silent one (read, badge) a background push (content-available,
 * priority 5) that wakes the app to update its badge and clear what it showed.
 */
export function createApnsProvider(options: ApnsOptions): ApnsProvider {
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const ttlMs = (options.ttlSeconds ?? 86_400) * 1000;
  const genericBody = options.genericBody ?? "New message";
  const origins = { production: options.productionUrl ?? apnsProductionUrl, sandbox: options.sandboxUrl ?? apnsSandboxUrl };
  const tokens = apnsProviderTokens({ pem: options.keyPem, keyId: options.keyId, teamId: options.teamId }, { now });
  const sessions = new Map<string, ClientHttp2Session>();
  let closed = false;

  function session(origin: string): ClientHttp2Session {
    const open = sessions.get(origin);
    if (open && !open.closed && !open.destroyed) return open;
    const created = connect(origin, options.tls ?? {});
    const forget = (): void => {
      if (sessions.get(origin) === created) sessions.delete(origin);
    };
    // Errors surface on the streams in flight; the session is only dropped so the next send reconnects.
    created.on("error", forget);
    created.on("goaway", forget);
    created.on("close", forget);
    sessions.set(origin, created);
    return created;
  }

  function drop(origin: string): void {
    const open = sessions.get(origin);
    sessions.delete(origin);
    if (open && !open.closed) open.close();
  }

  async function attempt(origin: string, deviceToken: string, request: ReturnType<typeof apnsRequest>): Promise<SendOutcome | "expired-token"> {
    let token: string;
    try {
      token = await tokens.get();
    } catch (error) {
      return { outcome: "rejected", status: 0, reason: `cannot sign the APNs provider token (APNS_KEY_FILE must be a PKCS#8 EC key): ${String(error)}` };
    }
    let answer: { status: number; headers: Record<string, string | string[] | undefined>; body: string };
    const headers = { ...request.headers, authorization: `bearer ${token}` };
    const body = JSON.stringify(request.body);
    try {
      answer = await post(session(origin), `/3/device/${deviceToken}`, headers, body, timeoutMs);
    } catch (error) {
      if (!neverProcessed(error)) return networkFailure(error);
      // The gateway was closing this connection (GOAWAY) as the request left: it did not see it, a new connection will.
      drop(origin);
      try {
        answer = await post(session(origin), `/3/device/${deviceToken}`, headers, body, timeoutMs);
      } catch (again) {
        return networkFailure(again);
      }
    }
    const reason = apnsReason(answer.body);
    if (answer.status === 403 && reason === "ExpiredProviderToken") {
      tokens.expire(token);
      return "expired-token";
    }
    const retryAfter = answer.headers["retry-after"];
    return outcomeOfApns(answer.status, reason, typeof retryAfter === "string" ? retryAfter : undefined, now());
  }

  async function send(registration: PushRegistration, notification: PushNotification): Promise<SendOutcome> {
    if (registration.kind !== "apns") return { outcome: "rejected", status: 0, reason: `APNs cannot send to a ${registration.kind} registration` };
    if (closed) return { outcome: "retry", status: 0, reason: "the APNs provider is closed" };
    if (!/^[0-9a-fA-F]{64,200}$/.test(registration.token)) return { outcome: "gone", status: 0, reason: "BadDeviceToken: not a hex device token" };
    const origin = origins[registration.environment];
    const request = apnsRequest(notification, { bundleId: options.bundleId, expiresAt: now() + ttlMs, genericBody });
    const first = await attempt(origin, registration.token, request);
    if (first !== "expired-token") return first;
    const second = await attempt(origin, registration.token, request);
    return second === "expired-token" ? { outcome: "rejected", status: 403, reason: "ExpiredProviderToken on a freshly signed token (is the clock right?)" } : second;
  }

  return {
    kind: "apns",
    get tokensSigned() {
      return tokens.signed;
    },
    send,
    async close(): Promise<void> {
      closed = true;
      const open = [...sessions.values()];
      sessions.clear();
      await Promise.all(open.map((s) => new Promise<void>((resolve) => (s.closed ? resolve() : s.close(() => resolve())))));
    },
  };
}

/** One POST on a session: the status, headers and body, or a rejection when no answer came. */
function post(session: ClientHttp2Session, path: string, headers: Record<string, string>, body: string, timeoutMs: number): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ":method": "POST", ":path": path, "content-type": "application/json", ...headers });
    let status = 0;
    let responseHeaders: Record<string, string | string[] | undefined> = {};
    const chunks: Buffer[] = [];
    stream.setTimeout(timeoutMs, () => {
      stream.close(constants.NGHTTP2_CANCEL);
      reject(new Error(`APNs did not answer within ${timeoutMs} ms`));
    });
    stream.on("response", (h) => {
      status = Number(h[":status"]);
      responseHeaders = h;
    });
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("end", () => (status ? resolve({ status, headers: responseHeaders, body: Buffer.concat(chunks).toString("utf8") }) : reject(new Error("APNs closed the stream without an answer"))));
    stream.on("error", reject);
    stream.end(body);
  });
}

/** Errors HTTP/2 guarantees came before the server processed the request: safe to send again at once. */
function neverProcessed(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "ERR_HTTP2_GOAWAY_SESSION" || code === "ERR_HTTP2_INVALID_SESSION") return true;
  return code === "ERR_HTTP2_STREAM_ERROR" && error instanceof Error && error.message.includes("NGHTTP2_REFUSED_STREAM");
}

function apnsReason(body: string): string {
  try {
    const parsed = JSON.parse(body) as { reason?: unknown };
    return typeof parsed.reason === "string" ? parsed.reason : "";
  } catch {
    return "";
  }
}

/** APNs's answer (Apple: "Handling notification responses from APNs") as an outcome. */
function outcomeOfApns(status: number, reason: string, retryAfter: string | undefined, now: number): SendOutcome {
  const described = clip(`${status} ${reason}`.trim());
  if (status === 200) return { outcome: "accepted", status };
  if (status === 410) return { outcome: "gone", status, reason: described };
  if (status === 400 && (reason === "BadDeviceToken" || reason === "DeviceTokenNotForTopic")) return { outcome: "gone", status, reason: described };
  if (status === 429 || status >= 500) return retry(status, described, parseRetryAfter(retryAfter, now));
  return { outcome: "rejected", status, reason: described };
}
