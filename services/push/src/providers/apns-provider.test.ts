import { generateKeyPairSync } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PushRegistration } from "../domain/push-ports.js";
import { FakeApns } from "../../test/fakes/fake-apns.js";
import { messageNotification, readNotification } from "../../test/notifications.js";
import { apnsId, createApnsProvider, type ApnsProvider } from "./apns-provider.js";

let time = Date.parse("2030-01-01T00:00:00Z");
const now = (): number => time;
let apns: FakeApns;
const providers: ApnsProvider[] = [];
beforeAll(async () => {
  apns = await FakeApns.start(now);
});
afterAll(async () => {
  await Promise.all(providers.map((p) => p.close()));
  await apns.close();
});

function provider(overrides: { keyPem?: string; productionUrl?: string } = {}): ApnsProvider {
  const created = createApnsProvider({
    keyPem: overrides.keyPem ?? apns.keyPem,
    keyId: apns.keyId,
    teamId: apns.teamId,
    bundleId: apns.bundleId,
    sandboxUrl: apns.origin,
    productionUrl: overrides.productionUrl ?? apns.origin,
    now,
  });
  providers.push(created);
  return created;
}
let devices = 0;
const newDevice = (): PushRegistration & { kind: "apns" } => ({ kind: "apns", token: (++devices).toString(16).padStart(64, "a"), environment: "sandbox" });
const to = (device: { token: string }) => apns.received.filter((r) => r.deviceToken === device.token);

describe("APNs provider", () => {
  it("sends a content-free alert at priority 10 with badge, thread, collapse id, expiration and a stable apns-id", async () => {
    const device = newDevice();
    expect(await provider().send(device, messageNotification())).toEqual({ outcome: "accepted", status: 200 });
    const [push] = to(device);
    expect(push?.headers).toMatchObject({
      "apns-topic": apns.bundleId,
      "apns-push-type": "alert",
      "apns-priority": "10",
      "apns-collapse-id": "conv-1",
      "apns-expiration": String(time / 1000 + 86_400),
      "apns-id": apnsId("device-1:msg-42"),
    });
    expect(push?.body).toEqual({
      type: "message",
      conversation_id: "conv-1",
      seq: "42",
      message_id: "msg-42",
      badge: 3,
      aps: { alert: { body: "New message" }, badge: 3, sound: "default", "thread-id": "conv-1", "mutable-content": 1 },
    });
    expect(apns.refusals).toEqual([]);
  });

  it("shows the sender and text when the notification has a preview", async () => {
    const device = newDevice();
    await provider().send(device, messageNotification({ preview: { senderName: "Ada", text: "see you" } }));
    const [push] = to(device);
    expect(push?.body.aps.alert).toEqual({ title: "Ada", body: "see you" });
    expect(push?.body.preview).toEqual({ sender_name: "Ada", text: "see you" });
  });

  it("sends a read update as a background push at priority 5 with the new badge and no alert", async () => {
    const device = newDevice();
    await provider().send(device, readNotification({ badge: 2 }));
    const [push] = to(device);
    expect(push?.headers).toMatchObject({ "apns-push-type": "background", "apns-priority": "5", "apns-collapse-id": "conv-1" });
    expect(push?.body.aps).toEqual({ "content-available": 1, badge: 2 });
  });

  it("keeps a collapse id within 64 bytes, the same for the same conversation", async () => {
    const device = newDevice();
    const key = `group:${"é".repeat(40)}`;
    const p = provider();
    await p.send(device, messageNotification({ collapseKey: key }));
    await p.send(device, messageNotification({ collapseKey: key, seq: 43n }));
    const [first, second] = to(device).map((r) => String(r.headers["apns-collapse-id"]));
    expect(Buffer.byteLength(first ?? "")).toBeLessThanOrEqual(64);
    expect(second).toBe(first);
  });

  it("sends to the gateway of the registration's environment", async () => {
    const p = provider({ productionUrl: "http://127.0.0.1:1" });
    const device = newDevice();
    expect(await p.send({ ...device, environment: "sandbox" }, messageNotification())).toMatchObject({ outcome: "accepted" });
    expect(await p.send({ ...device, environment: "production" }, messageNotification())).toMatchObject({ outcome: "retry", status: 0 });
    expect(to(device)).toHaveLength(1);
  });

  it("keeps one HTTP/2 session for many sends and opens a new one after GOAWAY", async () => {
    const p = provider();
    const device = newDevice();
    const before = apns.sessionsOpened;
    await Promise.all(Array.from({ length: 5 }, () => p.send(device, messageNotification())));
    for (let i = 0; i < 5; i++) await p.send(device, messageNotification());
    expect(apns.sessionsOpened - before).toBe(1);
    apns.goAway();
    expect(await p.send(device, messageNotification())).toMatchObject({ outcome: "accepted" });
    expect(apns.sessionsOpened - before).toBe(2);
    expect(to(device)).toHaveLength(11);
  });

  it("signs one provider token for 50 minutes of sends, then a new one", async () => {
    const p = provider();
    const device = newDevice();
    await p.send(device, messageNotification());
    time += 30 * 60_000;
    await p.send(device, messageNotification());
    expect(p.tokensSigned).toBe(1);
    time += 21 * 60_000;
    await p.send(device, messageNotification());
    expect(p.tokensSigned).toBe(2);
    const [first, second, third] = to(device).map((r) => r.providerToken);
    expect(second).toBe(first);
    expect(FakeApns.issuedAt(third ?? "")).toBeGreaterThan(FakeApns.issuedAt(first ?? ""));
  });

  it("signs a new token once on ExpiredProviderToken and delivers with it", async () => {
    const p = provider();
    const device = newDevice();
    await p.send(device, messageNotification());
    apns.answerNext(device.token, { status: 403, reason: "ExpiredProviderToken" });
    expect(await p.send(device, messageNotification())).toEqual({ outcome: "accepted", status: 200 });
    expect(p.tokensSigned).toBe(2);
    const [first, second] = to(device).map((r) => r.providerToken);
    expect(second).not.toBe(first);

    apns.answerNext(device.token, { status: 403, reason: "ExpiredProviderToken" }, { status: 403, reason: "ExpiredProviderToken" });
    expect(await p.send(device, messageNotification())).toMatchObject({ outcome: "rejected", status: 403 });
    expect(p.tokensSigned).toBe(3);
  });

  it("maps 410 Unregistered, BadDeviceToken and DeviceTokenNotForTopic to gone", async () => {
    const p = provider();
    const device = newDevice();
    apns.answerNext(device.token, { status: 410, reason: "Unregistered" }, { status: 400, reason: "BadDeviceToken" }, { status: 400, reason: "DeviceTokenNotForTopic" });
    for (const reason of ["Unregistered", "BadDeviceToken", "DeviceTokenNotForTopic"]) {
      const outcome = await p.send(device, messageNotification());
      expect(outcome).toMatchObject({ outcome: "gone" });
      expect(outcome.outcome === "gone" && outcome.reason).toContain(reason);
    }
  });

  it("retries 429, 500 and 503, after Retry-After when given", async () => {
    const p = provider();
    const device = newDevice();
    apns.answerNext(device.token, { status: 429, reason: "TooManyRequests" }, { status: 503, reason: "ServiceUnavailable", headers: { "retry-after": "5" } }, { status: 500, reason: "InternalServerError" });
    const throttled = await p.send(device, messageNotification());
    expect(throttled).toMatchObject({ outcome: "retry", status: 429 });
    expect(throttled).not.toHaveProperty("retryAfterMs");
    expect(await p.send(device, messageNotification())).toMatchObject({ outcome: "retry", status: 503, retryAfterMs: 5_000 });
    expect(await p.send(device, messageNotification())).toMatchObject({ outcome: "retry", status: 500 });
  });

  it("rejects other refusals: a bad request, a too large payload, a token signed with the wrong key", async () => {
    const device = newDevice();
    apns.answerNext(device.token, { status: 400, reason: "BadTopic" }, { status: 413, reason: "PayloadTooLarge" }, { status: 404, reason: "BadPath" });
    const p = provider();
    for (const status of [400, 413, 404]) expect(await p.send(device, messageNotification())).toMatchObject({ outcome: "rejected", status });

    const stranger = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    expect(await provider({ keyPem: stranger }).send(device, messageNotification())).toMatchObject({ outcome: "rejected", status: 403 });
    expect(apns.refusals.at(-1)).toMatch(/^InvalidProviderToken: signature/);
    expect(to(device)).toEqual([]);
  });

  it("treats a device token that is not hex as gone without sending", async () => {
    expect(await provider().send({ kind: "apns", token: "not-a-token", environment: "sandbox" }, messageNotification())).toMatchObject({ outcome: "gone", status: 0 });
  });
});
