import { importPKCS8, SignJWT } from "jose";
import type { SendOutcome } from "../domain/push-ports.js";
import type { FcmServiceAccount } from "./fcm-service-account.js";
import { clip, networkFailure, outcomeOfStatus } from "./http-outcome.js";

/** The OAuth scope FCM HTTP v1 sends require. */
export const fcmScope = "https://www.googleapis.com/auth/firebase.messaging";

/** An access token could not be had: what a send should answer instead. */
export class AccessTokenError extends Error {
  constructor(readonly outcome: SendOutcome) {
    super(`OAuth token exchange failed: ${"reason" in outcome ? outcome.reason : outcome.status}`);
    this.name = "AccessTokenError";
  }
}

/** Access tokens for one service account, shared by all sends. */
export interface AccessTokens {
  /** A valid token: the cached one, else one exchange (concurrent callers share it). Throws AccessTokenError. */
  get(): Promise<string>;
  /** The service refused this token: forget it, unless a newer one already replaced it. */
  invalidate(token: string): void;
  /** How many exchanges were made, for tests and metrics. */
  readonly exchanges: number;
}

/**
 * OAuth 2.0 JWT-bearer grant (RFC 7523) as Google does it for service accounts: an RS256
 * assertion (iss = the account, scope, aud = token_uri, one hour) exchanged at token_uri for an
 * access token, kept until a minute before it expires.
 */
export function googleAccessTokens(account: FcmServiceAccount, options: { now: () => number; timeoutMs: number; refreshMarginMs?: number }): AccessTokens {
  const margin = options.refreshMarginMs ?? 60_000;
  let cached: { token: string; expiresAt: number } | undefined;
  let pending: Promise<string> | undefined;
  let exchanges = 0;
  let signingKey: ReturnType<typeof importPKCS8> | undefined;

  async function exchange(): Promise<string> {
    exchanges++;
    signingKey ??= importPKCS8(account.private_key, "RS256");
    const key = await signingKey.catch((error: unknown) => {
      signingKey = undefined;
      throw new AccessTokenError({ outcome: "rejected", status: 0, reason: `the service account's private_key is not an RSA PKCS#8 key: ${String(error)}` });
    });
    const issuedAt = Math.floor(options.now() / 1000);
    const assertion = await new SignJWT({ scope: fcmScope })
      .setProtectedHeader({ alg: "RS256", typ: "JWT" })
      .setIssuer(account.client_email)
      .setAudience(account.token_uri)
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + 3600)
      .sign(key);
    let response: Response;
    try {
      response = await fetch(account.token_uri, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion }).toString(),
        signal: AbortSignal.timeout(options.timeoutMs),
      });
    } catch (error) {
      throw new AccessTokenError(networkFailure(error));
    }
    const text = await response.text().catch(() => "");
    if (!response.ok) {
      const outcome = outcomeOfStatus(response.status, clip(`token exchange ${response.status}: ${text}`), response.headers.get("retry-after"), options.now());
      // A refused grant (bad key, disabled account) is no reason to delete the device's registration.
      throw new AccessTokenError(outcome.outcome === "gone" ? { outcome: "rejected", status: outcome.status, reason: outcome.reason } : outcome);
    }
    const body = parseTokenResponse(text);
    if (!body) throw new AccessTokenError({ outcome: "retry", status: response.status, reason: clip(`token exchange answered without access_token/expires_in: ${text}`) });
    cached = { token: body.access_token, expiresAt: options.now() + body.expires_in * 1000 };
    return body.access_token;
  }

  return {
    get exchanges() {
      return exchanges;
    },
    get(): Promise<string> {
      if (cached && options.now() < cached.expiresAt - margin) return Promise.resolve(cached.token);
      pending ??= exchange().finally(() => {
        pending = undefined;
      });
      return pending;
    },
    invalidate(token: string): void {
      if (cached?.token === token) cached = undefined;
    },
  };
}

function parseTokenResponse(text: string): { access_token: string; expires_in: number } | undefined {
  try {
    const body = JSON.parse(text) as { access_token?: unknown; expires_in?: unknown };
    if (typeof body.access_token === "string" && typeof body.expires_in === "number") return { access_token: body.access_token, expires_in: body.expires_in };
  } catch {
    // Not JSON: handled as a malformed answer below.
  }
  return undefined;
}
