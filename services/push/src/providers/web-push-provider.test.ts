import { afterAll, beforeAll, describe, expect, it } from "vitest";
import webpush from "web-push";
import type { PushRegistration } from "../domain/push-ports.js";
import { FakeWebPushService, type BrowserSubscription } from "../../test/fakes/fake-web-push-service.js";
import { messageNotification, readNotification } from "../../test/notifications.js";
import { createWebPushProvider, webPushTopic } from "./web-push-provider.js";

const keys = webpush.generateVAPIDKeys();
const vapid = { ...keys, subject: "mailto:ops@example.com" };
const clock = Date.parse("2030-01-01T00:00:00Z");

let service: FakeWebPushService;
beforeAll(async () => {
  service = await FakeWebPushService.start();
});
afterAll(async () => {
  await service.close();
});

const provider = createWebPushProvider({ vapid, allowHttpEndpoints: true, now: () => clock });
const registration = (s: BrowserSubscription): PushRegistration & { kind: "web_push" } => ({ kind: "web_push", endpoint: s.endpoint, p256dh: s.p256dh, auth: s.auth });

describe("web push provider", () => {
  it("delivers a content-free notification the browser decrypts to ids and badge only", async () => {
    const browser = service.subscribe();
    expect(await provider.send(registration(browser), messageNotification())).toEqual({ outcome: "accepted", status: 201 });
    const [push] = service.receivedBy(browser);
    expect(push?.payload).toEqual({ type: "message", conversation_id: "conv-1", seq: "42", message_id: "msg-42", badge: 3 });
    expect(push?.vapid.publicKey).toBe(keys.publicKey);
    expect(push?.vapid.claims.sub).toBe("mailto:ops@example.com");
    expect(push?.headers.urgency).toBe("high");
    expect(push?.headers.ttl).toBe("86400");
    expect(service.refusals).toEqual([]);
  });

  it("signs the VAPID JWT once per push service and reuses it, with that service as its audience", async () => {
    const other = await FakeWebPushService.start();
    try {
      const signer = createWebPushProvider({ vapid, allowHttpEndpoints: true });
      const [a, b, c] = [service.subscribe(), service.subscribe(), other.subscribe()];
      for (const s of [a, b, c]) expect((await signer.send(registration(s), messageNotification())).outcome).toBe("accepted");
      const auth = (p: { headers: { authorization?: string | undefined } } | undefined) => p?.headers.authorization;
      expect(auth(service.receivedBy(a)[0])).toBe(auth(service.receivedBy(b)[0]));
      expect(auth(other.receivedBy(c)[0])).not.toBe(auth(service.receivedBy(a)[0]));
      expect(other.receivedBy(c)[0]?.vapid.claims.aud).toBe(other.origin);
    } finally {
      await other.close();
    }
  });

  it("carries the sender's name and text only when the notification has a preview", async () => {
    const browser = service.subscribe();
    await provider.send(registration(browser), messageNotification({ preview: { senderName: "Ada", text: "lunch at 1? 🍜" } }));
    expect(service.receivedBy(browser)[0]?.payload).toEqual({
      type: "message",
      conversation_id: "conv-1",
      seq: "42",
      message_id: "msg-42",
      badge: 3,
      preview: { sender_name: "Ada", text: "lunch at 1? 🍜" },
    });
  });

  it("sends a read update silently (normal urgency) with the new badge under the conversation's topic", async () => {
    const browser = service.subscribe();
    await provider.send(registration(browser), messageNotification());
    await provider.send(registration(browser), readNotification({ badge: 0 }));
    await provider.send(registration(browser), messageNotification({ conversationId: "conv-2", collapseKey: "conv-2" }));
    const [first, read, other] = service.receivedBy(browser);
    expect(read?.payload).toMatchObject({ type: "read", badge: 0 });
    expect(read?.headers.urgency).toBe("normal");
    expect(first?.headers.topic).toBe(webPushTopic("conv-1"));
    expect(read?.headers.topic).toBe(first?.headers.topic);
    expect(other?.headers.topic).not.toBe(first?.headers.topic);
  });

  it("fits any collapse key into a ≤ 32 character URL-safe topic that does not reveal it", () => {
    for (const key of ["conv-1", "a".repeat(200), "group:ü/+= with spaces"]) {
      const topic = webPushTopic(key);
      expect(topic).toMatch(/^[A-Za-z0-9_-]{1,32}$/);
      expect(topic).not.toContain("conv");
    }
  });

  it("maps 410 and 404 to gone", async () => {
    const browser = service.subscribe();
    service.answerNext(browser, { status: 410, body: "push subscription has unsubscribed or expired" }, { status: 404 });
    expect(await provider.send(registration(browser), messageNotification())).toMatchObject({ outcome: "gone", status: 410 });
    expect(await provider.send(registration(browser), messageNotification())).toMatchObject({ outcome: "gone", status: 404 });
  });

  it("maps 503 with Retry-After seconds, and 429 with a Retry-After date, to retry after that delay", async () => {
    const browser = service.subscribe();
    service.answerNext(
      browser,
      { status: 503, headers: { "retry-after": "120" } },
      { status: 429, headers: { "retry-after": new Date(clock + 30_000).toUTCString() } },
      { status: 500 },
    );
    expect(await provider.send(registration(browser), messageNotification())).toMatchObject({ outcome: "retry", status: 503, retryAfterMs: 120_000 });
    expect(await provider.send(registration(browser), messageNotification())).toMatchObject({ outcome: "retry", status: 429, retryAfterMs: 30_000 });
    const plain = await provider.send(registration(browser), messageNotification());
    expect(plain).toMatchObject({ outcome: "retry", status: 500 });
    expect(plain).not.toHaveProperty("retryAfterMs");
    expect(service.receivedBy(browser)).toEqual([]);
  });

  it("maps 400, 403 and 413 to rejected", async () => {
    const browser = service.subscribe();
    service.answerNext(browser, { status: 400 }, { status: 403 }, { status: 413 });
    for (const status of [400, 403, 413]) {
      expect(await provider.send(registration(browser), messageNotification())).toMatchObject({ outcome: "rejected", status });
    }
  });

  it("retries when the push service cannot be reached", async () => {
    const closed = await FakeWebPushService.start();
    const browser = closed.subscribe();
    await closed.close();
    expect(await provider.send(registration(browser), messageNotification())).toMatchObject({ outcome: "retry", status: 0 });
  });

  it("refuses plain http endpoints unless allowed, and subscriptions whose keys are unusable, as gone", async () => {
    const browser = service.subscribe();
    const strict = createWebPushProvider({ vapid });
    expect(await strict.send(registration(browser), messageNotification())).toMatchObject({ outcome: "gone", status: 0 });
    expect(await provider.send({ ...registration(browser), p256dh: "AAAA" }, messageNotification())).toMatchObject({ outcome: "gone", status: 0 });
    expect(service.received.filter((r) => r.subscriptionId === browser.id)).toEqual([]);
  });

  it("is refused by the push service when signed with a key other than the one it announces", async () => {
    const browser = service.subscribe();
    const other = webpush.generateVAPIDKeys();
    const forged = createWebPushProvider({ vapid: { ...vapid, privateKey: other.privateKey }, allowHttpEndpoints: true });
    expect(await forged.send(registration(browser), messageNotification())).toMatchObject({ outcome: "rejected", status: 401 });
    expect(service.refusals.at(-1)).toMatch(/signature/);
  });
});
