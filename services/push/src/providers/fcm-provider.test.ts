import { generateKeyPairSync } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeFcm } from "../../test/fakes/fake-fcm.js";
import { messageNotification, readNotification } from "../../test/notifications.js";
import { createFcmProvider } from "./fcm-provider.js";

let time = Date.parse("2030-01-01T00:00:00Z");
const now = (): number => time;
let fcm: FakeFcm;
beforeAll(async () => {
  fcm = await FakeFcm.start(now);
});
afterAll(async () => {
  await fcm.close();
});

const provider = () => createFcmProvider({ serviceAccount: fcm.serviceAccount(), baseUrl: fcm.origin, now });
const device = (name: string) => ({ kind: "fcm" as const, token: `fcm-token-${name}` });
const to = (name: string) => fcm.received.filter((r) => r.message.token === `fcm-token-${name}`).map((r) => r.message);

describe("FCM provider", () => {
  it("sends a content-free visible notification: generic title, tag and count, high priority, the ids as data", async () => {
    expect(await provider().send(device("a"), messageNotification())).toEqual({ outcome: "accepted", status: 200 });
    expect(to("a")).toEqual([
      {
        token: "fcm-token-a",
        data: { type: "message", conversation_id: "conv-1", seq: "42", message_id: "msg-42", badge: "3" },
        android: { collapse_key: "conv-1", priority: "HIGH", ttl: "86400s", notification: { title: "New message", tag: "conv-1", notification_count: 3 } },
      },
    ]);
    expect(fcm.refusals).toEqual([]);
  });

  it("shows the sender and text when the notification has a preview", async () => {
    await provider().send(device("b"), messageNotification({ badge: 7, preview: { senderName: "Ada", text: "on my way" } }));
    const [message] = to("b");
    expect(message?.android?.notification).toEqual({ title: "Ada", body: "on my way", tag: "conv-1", notification_count: 7 });
    expect(message?.data).toMatchObject({ sender_name: "Ada", text: "on my way", badge: "7" });
  });

  it("sends a read update as data only at normal priority, collapsing with the conversation's notification", async () => {
    await provider().send(device("c"), readNotification({ badge: 1 }));
    const [message] = to("c");
    expect(message?.android).toEqual({ collapse_key: "conv-1", priority: "NORMAL", ttl: "86400s" });
    expect(message?.data).toEqual({ type: "read", conversation_id: "conv-1", seq: "42", message_id: "msg-42", badge: "1" });
  });

  it("exchanges one OAuth token for many sends, concurrent or not, and a new one only near its expiry", async () => {
    const p = provider();
    const before = fcm.exchanges;
    await Promise.all(Array.from({ length: 5 }, () => p.send(device("d"), messageNotification())));
    for (let i = 0; i < 5; i++) await p.send(device("d"), messageNotification());
    expect(fcm.exchanges - before).toBe(1);
    expect(p.tokenExchanges).toBe(1);
    expect(new Set(fcm.received.slice(-10).map((r) => r.accessToken)).size).toBe(1);

    time += (fcm.tokenLifetimeSeconds - 30) * 1000;
    expect(await p.send(device("d"), messageNotification())).toMatchObject({ outcome: "accepted" });
    expect(p.tokenExchanges).toBe(2);
  });

  it("renews a revoked token once on 401 and delivers", async () => {
    const p = provider();
    await p.send(device("e"), messageNotification());
    fcm.revokeTokens();
    expect(await p.send(device("e"), messageNotification())).toEqual({ outcome: "accepted", status: 200 });
    expect(p.tokenExchanges).toBe(2);
    const [first, second] = fcm.received.filter((r) => r.message.token === "fcm-token-e");
    expect(second?.accessToken).not.toBe(first?.accessToken);
  });

  it("rejects after a second 401 instead of exchanging tokens forever", async () => {
    const p = provider();
    fcm.answerNext("fcm-token-f", { status: 401, error: { status: "UNAUTHENTICATED" } }, { status: 401, error: { status: "UNAUTHENTICATED" } });
    expect(await p.send(device("f"), messageNotification())).toMatchObject({ outcome: "rejected", status: 401 });
    expect(p.tokenExchanges).toBe(2);
  });

  it("maps UNREGISTERED, an invalid registration token and a token of another project to gone", async () => {
    const p = provider();
    fcm.answerNext(
      "fcm-token-g",
      { status: 404, error: { status: "NOT_FOUND", errorCode: "UNREGISTERED", message: "Requested entity was not found." } },
      { status: 400, error: { status: "INVALID_ARGUMENT", errorCode: "INVALID_ARGUMENT", message: "The registration token is not a valid FCM registration token" } },
      { status: 403, error: { status: "PERMISSION_DENIED", errorCode: "SENDER_ID_MISMATCH", message: "SenderId mismatch" } },
    );
    for (const status of [404, 400, 403]) expect(await p.send(device("g"), messageNotification())).toMatchObject({ outcome: "gone", status });
  });

  it("rejects any other invalid argument", async () => {
    const p = provider();
    fcm.answerNext("fcm-token-h", { status: 400, error: { status: "INVALID_ARGUMENT", errorCode: "INVALID_ARGUMENT", message: "Invalid value at 'message.android.ttl'" } });
    expect(await p.send(device("h"), messageNotification())).toMatchObject({ outcome: "rejected", status: 400 });
  });

  it("retries 503 after its Retry-After, and 429 and 500", async () => {
    const p = provider();
    fcm.answerNext(
      "fcm-token-i",
      { status: 503, error: { status: "UNAVAILABLE", errorCode: "UNAVAILABLE" }, headers: { "retry-after": "10" } },
      { status: 429, error: { status: "RESOURCE_EXHAUSTED", errorCode: "QUOTA_EXCEEDED" }, headers: { "retry-after": "60" } },
      { status: 500, error: { status: "INTERNAL", errorCode: "INTERNAL" } },
    );
    expect(await p.send(device("i"), messageNotification())).toMatchObject({ outcome: "retry", status: 503, retryAfterMs: 10_000 });
    expect(await p.send(device("i"), messageNotification())).toMatchObject({ outcome: "retry", status: 429, retryAfterMs: 60_000 });
    expect(await p.send(device("i"), messageNotification())).toMatchObject({ outcome: "retry", status: 500 });
    expect(to("i")).toEqual([]);
  });

  it("rejects when the token endpoint refuses the service account's signature, without touching the registration", async () => {
    const stranger = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const p = createFcmProvider({ serviceAccount: { ...fcm.serviceAccount(), private_key: stranger }, baseUrl: fcm.origin, now });
    expect(await p.send(device("j"), messageNotification())).toMatchObject({ outcome: "rejected", status: 400 });
    expect(fcm.refusals.at(-1)).toMatch(/signature/);
    expect(to("j")).toEqual([]);
  });

  it("retries when the token endpoint cannot be reached", async () => {
    const p = createFcmProvider({ serviceAccount: { ...fcm.serviceAccount(), token_uri: "http://127.0.0.1:1/token" }, baseUrl: fcm.origin, now });
    expect(await p.send(device("k"), messageNotification())).toMatchObject({ outcome: "retry", status: 0 });
  });
});
