import { createECDH, randomBytes } from "node:crypto";
import { DomainError } from "@messenger/rpc/domain-error";
import { describe, expect, it } from "vitest";
import { validatePushRegistration, type PushRegistrationInput } from "./push-registration.js";

const strict = { allowInsecureEndpoints: false };

/** A subscription's keys as a browser makes them: a fresh P-256 key pair and a 16-byte secret. */
function browserKeys(): { p256dh: string; auth: string } {
  const ecdh = createECDH("prime256v1");
  ecdh.generateKeys();
  return { p256dh: ecdh.getPublicKey().toString("base64url"), auth: randomBytes(16).toString("base64url") };
}

const webPush = (over: Partial<{ endpoint: string; p256dh: string; auth: string }> = {}): PushRegistrationInput => ({
  kind: "web_push",
  endpoint: "https://fcm.googleapis.com/fcm/send/abc:def",
  ...browserKeys(),
  ...over,
});

/** The message a refusal carries, or "accepted". */
function verdict(input: PushRegistrationInput | undefined, policy = strict): string {
  try {
    validatePushRegistration(input, policy);
    return "accepted";
  } catch (err) {
    if (err instanceof DomainError && err.kind === "invalid_argument") return err.message;
    throw err;
  }
}

describe("validatePushRegistration", () => {
  it("accepts a browser's subscription and keeps it as base64url without padding", () => {
    const keys = browserKeys();
    const padded = { p256dh: `${keys.p256dh}=`, auth: `${keys.auth}==` };
    expect(validatePushRegistration(webPush(padded), strict)).toEqual({ kind: "web_push", endpoint: "https://fcm.googleapis.com/fcm/send/abc:def", ...keys });
  });

  it("refuses an endpoint that is not https, unless insecure endpoints are allowed", () => {
    expect(verdict(webPush({ endpoint: "http://127.0.0.1:9000/push/1" }))).toMatch(/https/);
    expect(verdict(webPush({ endpoint: "http://127.0.0.1:9000/push/1" }), { allowInsecureEndpoints: true })).toBe("accepted");
    expect(verdict(webPush({ endpoint: "ftp://push.example/1" }), { allowInsecureEndpoints: true })).toMatch(/https/);
    expect(verdict(webPush({ endpoint: "not a url" }))).toMatch(/not a URL/);
    expect(verdict(webPush({ endpoint: "" }))).toMatch(/endpoint/);
    expect(verdict(webPush({ endpoint: `https://push.example/${"a".repeat(2048)}` }))).toMatch(/2048/);
    expect(verdict(webPush({ endpoint: "https://user:secret@push.example/1" }))).toMatch(/credentials/);
  });

  it("refuses keys that are not a P-256 point and a 16-byte secret", () => {
    const point = Buffer.from(browserKeys().p256dh, "base64url");
    const offCurve = Buffer.from(point);
    offCurve[64]! ^= 1;
    const compressed = Buffer.concat([Buffer.from([0x02]), point.subarray(1, 33)]);
    for (const p256dh of [offCurve.toString("base64url"), compressed.toString("base64url"), `+${point.toString("base64url").slice(1)}`, "", "!!!"]) {
      expect(verdict(webPush({ p256dh })), p256dh).toMatch(/p256dh/);
    }
    for (const auth of [randomBytes(15).toString("base64url"), randomBytes(32).toString("base64url"), "", "a+b/"]) {
      expect(verdict(webPush({ auth })), auth).toMatch(/auth/);
    }
  });

  it("accepts an FCM token of visible ASCII up to 4096 characters", () => {
    expect(verdict({ kind: "fcm", token: "dQw4w9WgXcQ:APA91bH" + "x".repeat(140) })).toBe("accepted");
    expect(verdict({ kind: "fcm", token: "x".repeat(4096) })).toBe("accepted");
    expect(verdict({ kind: "fcm", token: "x".repeat(4097) })).toMatch(/fcm.token/);
    expect(verdict({ kind: "fcm", token: "" })).toMatch(/fcm.token/);
    expect(verdict({ kind: "fcm", token: "has space" })).toMatch(/fcm.token/);
  });

  it("accepts an APNs token of 64 to 200 hex digits with its environment, in lower case", () => {
    const token = randomBytes(32).toString("hex").toUpperCase();
    expect(validatePushRegistration({ kind: "apns", token, environment: "sandbox" }, strict)).toEqual({ kind: "apns", token: token.toLowerCase(), environment: "sandbox" });
    expect(verdict({ kind: "apns", token: "ab".repeat(100), environment: "production" })).toBe("accepted");
    expect(verdict({ kind: "apns", token: "ab".repeat(101), environment: "production" })).toMatch(/apns.token/);
    expect(verdict({ kind: "apns", token: "ab".repeat(31), environment: "production" })).toMatch(/apns.token/);
    expect(verdict({ kind: "apns", token: `${"ab".repeat(32)}a`, environment: "production" })).toMatch(/apns.token/);
    expect(verdict({ kind: "apns", token: "zz".repeat(32), environment: "production" })).toMatch(/apns.token/);
    expect(verdict({ kind: "apns", token, environment: "" })).toMatch(/SANDBOX or PRODUCTION/);
  });

  it("refuses a request that names no registration", () => {
    expect(verdict(undefined)).toMatch(/registration is required/);
  });
});
