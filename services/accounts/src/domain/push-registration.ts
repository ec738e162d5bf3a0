import { createPublicKey } from "node:crypto";
import { DomainError } from "@messenger/rpc/domain-error";

/**
 * Where one device can be woken, validated and normalised (base64url without padding, APNs
 * tokens in lower case), so two spellings of one address compare equal.
 */
export type PushRegistration =
  | { readonly kind: "web_push"; readonly endpoint: string; readonly p256dh: string; readonly auth: string }
  | { readonly kind: "fcm"; readonly token: string }
  | { readonly kind: "apns"; readonly token: string; readonly environment: "sandbox" | "production" };

/** A registration as a caller sent it: nothing checked yet; an APNs environment may be anything. */
export type PushRegistrationInput =
  | { readonly kind: "web_push"; readonly endpoint: string; readonly p256dh: string; readonly auth: string }
  | { readonly kind: "fcm"; readonly token: string }
  | { readonly kind: "apns"; readonly token: string; readonly environment: string };

/** What registrations are accepted. */
export interface PushRegistrationPolicy {
  /**
   * Accept http:// Web Push endpoints. Real push services are https only, and an http
   * endpoint would carry the encrypted payload and the VAPID token in clear; tests that play
   * the browser's push service locally turn this on. @default false
   */
  readonly allowInsecureEndpoints: boolean;
}

const maxEndpointChars = 2048;
const maxFcmTokenChars = 4096;
const base64url = /^[A-Za-z0-9_-]+={0,2}$/;
const visibleAscii = /^[\x21-\x7e]+$/;
const hex = /^[0-9a-fA-F]+$/;

const invalid = (message: string): DomainError => new DomainError("invalid_argument", message);

/** The bytes of a base64url field (padding allowed), or undefined when it is not base64url. */
function base64urlBytes(value: string): Buffer | undefined {
  return base64url.test(value) ? Buffer.from(value, "base64url") : undefined;
}

/** True when the 65 bytes are an uncompressed point on P-256 (OpenSSL checks the curve equation). */
function isP256Point(bytes: Buffer): boolean {
  if (bytes.length !== 65 || bytes[0] !== 0x04) return false;
  try {
    createPublicKey({ key: { kty: "EC", crv: "P-256", x: bytes.subarray(1, 33).toString("base64url"), y: bytes.subarray(33).toString("base64url") }, format: "jwk" });
    return true;
  } catch {
    return false;
  }
}

function webPush(input: { endpoint: string; p256dh: string; auth: string }, policy: PushRegistrationPolicy): PushRegistration {
  if (input.endpoint.length === 0 || input.endpoint.length > maxEndpointChars) throw invalid(`web_push.endpoint must be a URL of 1 to ${maxEndpointChars} characters`);
  let url: URL;
  try {
    url = new URL(input.endpoint);
  } catch {
    throw invalid("web_push.endpoint is not a URL");
  }
  const secure = url.protocol === "https:";
  if (!secure && !(url.protocol === "http:" && policy.allowInsecureEndpoints)) throw invalid("web_push.endpoint must be an https URL");
  if (url.username || url.password) throw invalid("web_push.endpoint must not carry credentials");
  const key = base64urlBytes(input.p256dh);
  if (!key || !isP256Point(key)) throw invalid("web_push.p256dh must be an uncompressed P-256 public key (65 bytes), base64url");
  const auth = base64urlBytes(input.auth);
  if (!auth || auth.length !== 16) throw invalid("web_push.auth must be 16 bytes, base64url");
  return { kind: "web_push", endpoint: input.endpoint, p256dh: key.toString("base64url"), auth: auth.toString("base64url") };
}

/**
 * Checks a registration and returns it normalised; INVALID_ARGUMENT naming the first field
 * at fault otherwise.
 */
export function validatePushRegistration(input: PushRegistrationInput | undefined, policy: PushRegistrationPolicy): PushRegistration {
  switch (input?.kind) {
    case undefined:
      throw invalid("registration is required: web_push, fcm or apns");
    case "web_push":
      return webPush(input, policy);
    case "fcm":
      if (input.token.length === 0 || input.token.length > maxFcmTokenChars || !visibleAscii.test(input.token)) {
        throw invalid(`fcm.token must be 1 to ${maxFcmTokenChars} visible ASCII characters`);
      }
      return { kind: "fcm", token: input.token };
    case "apns": {
      const { token, environment } = input;
      if (token.length < 64 || token.length > 200 || token.length % 2 !== 0 || !hex.test(token)) throw invalid("apns.token must be 64 to 200 hex digits");
      if (environment !== "sandbox" && environment !== "production") throw invalid("apns.environment must be SANDBOX or PRODUCTION");
      return { kind: "apns", token: token.toLowerCase(), environment };
    }
  }
}

/**
 * The registration as it would have been stored, without judging it: a registration that
 * fails validation was never stored, so it simply matches nothing.
 */
export function normalisePushRegistration(input: PushRegistrationInput): PushRegistrationInput {
  switch (input.kind) {
    case "web_push":
      return { ...input, p256dh: input.p256dh.replace(/=+$/, ""), auth: input.auth.replace(/=+$/, "") };
    case "fcm":
      return input;
    case "apns":
      return { ...input, token: input.token.toLowerCase() };
  }
}
