import type { MessengerClient } from "@messenger/sdk";
import { eventually } from "@messenger/testing";
import { makeContacts, newUser, startTestSystem, type TestSystem } from "@messenger/test-system";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeWebPushService, type BrowserSubscription } from "../../services/push/test/fakes/fake-web-push-service.js";
import { metricValue } from "../support/metrics.js";

let sys: TestSystem;
let pushService: FakeWebPushService;
const clients: MessengerClient[] = [];
beforeAll(async () => {
  pushService = await FakeWebPushService.start();
  // The fake push service listens on plain http on 127.0.0.1.
  sys = await startTestSystem({ PUSH_ALLOW_INSECURE_ENDPOINTS: "true", WEB_PUSH_ALLOW_HTTP: "true" });
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await sys.dispose();
  await pushService.close();
});

async function user(opts: { name?: string; deviceId?: string } = {}): Promise<MessengerClient> {
  const c = await newUser(sys.grpcUrl, opts);
  clients.push(c);
  return c;
}

/** Bob with a connected phone (a contact of whoever writes: a message request would not count in the badge) and a laptop whose browser subscribed to Web Push, then went away. */
async function bobWithOfflineLaptop(): Promise<{ phone: MessengerClient; laptop: MessengerClient; browser: BrowserSubscription }> {
  const name = `bob${Date.now().toString(36)}${clients.length}`;
  const phone = await user({ name, deviceId: "phone" });
  const laptop = await user({ name, deviceId: "laptop" });
  const browser = pushService.subscribe();
  await laptop.notifications.registerWebPush({ endpoint: browser.endpoint, keys: { p256dh: browser.p256dh, auth: browser.auth } });
  await phone.connect();
  return { phone, laptop, browser };
}

const payloads = (b: BrowserSubscription) => pushService.receivedBy(b).map((r) => r.payload);

describe("push notifications over Web Push, end to end", () => {
  it("wakes the offline laptop of a user whose phone is online: VAPID-signed, encrypted, content-free, with the badge and the conversation as topic", { timeout: 30_000 }, async () => {
    const alice = await user();
    await alice.connect();
    const { phone, browser } = await bobWithOfflineLaptop();
    await makeContacts(alice, phone);
    const conv = await alice.openDirect(phone.user!.id);
    const sent = await alice.send(conv.id, "are you there?");
    await eventually(() => payloads(browser).length === 1, "the laptop's push service gets one push");
    const [push] = pushService.receivedBy(browser);
    expect(push!.payload).toEqual({ type: "message", conversation_id: conv.id, seq: String(sent.seq), message_id: sent.id, badge: 1 });
    expect(push!.vapid.claims).toMatchObject({ aud: pushService.origin });
    expect(push!.headers.urgency).toBe("high");
    expect(push!.headers.topic).toMatch(/^[A-Za-z0-9_-]{1,32}$/);
    // The phone got it on its stream: nothing for it (it has no registration anyway), and one push only.
    await eventually(async () => (await metricValue(sys.httpUrl, "messenger_push_sent_total", { provider: "web_push" })) >= 1, "the sent metric");
    expect(payloads(browser)).toHaveLength(1);
  });

  it("carries the sender and the text once previews are on; a muted conversation gets a silent badge update", { timeout: 30_000 }, async () => {
    const alice = await user();
    await alice.connect();
    const { phone, browser } = await bobWithOfflineLaptop();
    await makeContacts(alice, phone);
    const conv = await alice.openDirect(phone.user!.id);
    await phone.notifications.updateSettings({ previews: true });
    const m = await alice.send(conv.id, "dinner at eight");
    await eventually(() => payloads(browser).length === 1, "a push with a preview");
    expect(payloads(browser)[0]).toMatchObject({ type: "message", seq: String(m.seq), preview: { sender_name: alice.user!.displayName, text: "dinner at eight" } });

    await phone.notifications.mute(conv.id);
    await alice.send(conv.id, "muted now");
    await eventually(() => payloads(browser).length === 2, "a silent push");
    const silent = pushService.receivedBy(browser)[1]!;
    expect(silent.headers.urgency).toBe("normal");
    expect(silent.payload).not.toHaveProperty("preview");
    expect(silent.payload).toMatchObject({ badge: 2, silent: true });
  });

  it("a read on the phone sends the offline laptop a silent badge update that clears the conversation, and do-not-disturb keeps pushes silent", { timeout: 30_000 }, async () => {
    const alice = await user();
    await alice.connect();
    const { phone, browser } = await bobWithOfflineLaptop();
    await makeContacts(alice, phone);
    const conv = await alice.openDirect(phone.user!.id);
    const m = await alice.send(conv.id, "read me");
    await eventually(() => payloads(browser).length === 1, "the message's push");
    expect(payloads(browser)[0]).toMatchObject({ type: "message", badge: 1 });
    phone.markRead(conv.id, m.seq);
    await eventually(() => payloads(browser).length === 2, "the read's silent push");
    const read = pushService.receivedBy(browser)[1]!;
    expect(read.payload).toEqual({ type: "read", conversation_id: conv.id, seq: String(m.seq), message_id: `read:${conv.id}:${m.seq}`, badge: 0, silent: true });
    expect(read.headers.urgency).toBe("normal");
    expect(read.headers.topic).toBe(pushService.receivedBy(browser)[0]!.headers.topic);

    await phone.notifications.updateSettings({ doNotDisturb: "forever" });
    await alice.send(conv.id, "during do-not-disturb");
    await eventually(() => payloads(browser).length === 3, "a silent push during do-not-disturb");
    expect(pushService.receivedBy(browser)[2]!.headers.urgency).toBe("normal");
    expect(payloads(browser)[2]).toMatchObject({ type: "message", badge: 1, silent: true });
  });

  it("retries a 503 after its Retry-After, and deletes a registration the push service says is gone (410)", { timeout: 30_000 }, async () => {
    const alice = await user();
    await alice.connect();
    const { phone, browser } = await bobWithOfflineLaptop();
    await makeContacts(alice, phone);
    const conv = await alice.openDirect(phone.user!.id);
    const retriesBefore = await metricValue(sys.httpUrl, "messenger_push_retries_total", { provider: "web_push", status: "503" });
    pushService.answerNext(browser, { status: 503, headers: { "retry-after": "1" } });
    const first = await alice.send(conv.id, "after a retry");
    const t0 = Date.now();
    await eventually(() => payloads(browser).length === 1, "the push after the 503", 10_000);
    // Not before the push service's Retry-After (1 s) ran out.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(payloads(browser)[0]).toMatchObject({ message_id: first.id });
    expect(await metricValue(sys.httpUrl, "messenger_push_retries_total", { provider: "web_push", status: "503" })).toBe(retriesBefore + 1);

    const removedBefore = await metricValue(sys.httpUrl, "messenger_push_registrations_removed_total", { provider: "web_push" });
    pushService.answerNext(browser, { status: 410 });
    await alice.send(conv.id, "to a gone browser");
    await eventually(async () => (await metricValue(sys.httpUrl, "messenger_push_registrations_removed_total", { provider: "web_push" })) === removedBefore + 1, "the registration removed");
    // Gone: the next message finds no registration and is not sent there at all.
    const skippedBefore = await metricValue(sys.httpUrl, "messenger_push_skipped_total", { reason: "no_registration" });
    await alice.send(conv.id, "nobody to wake");
    await eventually(async () => (await metricValue(sys.httpUrl, "messenger_push_skipped_total", { reason: "no_registration" })) === skippedBefore + 1, "skipped for want of a registration");
    expect(payloads(browser)).toHaveLength(1);
  });
});
