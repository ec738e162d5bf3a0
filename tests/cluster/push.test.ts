import { createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { offlineStream, pushWorkerGroup, subjects } from "@messenger/bus";
import type { Message } from "@messenger/proto/chat/v1/types";
import { PushConfigService } from "@messenger/proto/push/v1/push_config_service";
import type { MessengerClient } from "@messenger/sdk";
import { eventually, startCluster, within, type LocalCluster } from "@messenger/testing";
import { makeContacts, newUser } from "@messenger/test-system";
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, nanos, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { FakeWebPushService, type BrowserSubscription } from "../../services/push/test/fakes/fake-web-push-service.js";
import { api, registerUser } from "../support/api-user.js";

// The push worker as its own processes (two replicas sharing the offline queue's consumer
// group), a real nats-server, and a local Web Push service that verifies VAPID and decrypts
// every payload with the browser's private key, as a browser vendor's push service would.
let cluster: LocalCluster;
let pushService: FakeWebPushService;
let nc: NatsConnection;
const clients: MessengerClient[] = [];
beforeAll(async () => {
  pushService = await FakeWebPushService.start();
  cluster = await startCluster({
    gateways: 1,
    pushWorkers: 2,
    env: {
      SCRYPT_LOG_N: "12",
      LOG_LEVEL: "warn",
      SEND_RATE_LIMIT_PER_DEVICE: "off",
      SEND_RATE_LIMIT_PER_USER: "off",
      // The fake push service listens on plain http on 127.0.0.1.
      PUSH_ALLOW_INSECURE_ENDPOINTS: "true",
      WEB_PUSH_ALLOW_HTTP: "true",
      PUSH_OUTBOX_RELAY_INTERVAL_MS: "300",
      PUSH_OUTBOX_GRACE_MS: "1000",
      PUSH_OUTBOX_LEASE_MS: "2000",
    },
  });
  nc = await connect({ servers: cluster.nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
}, 120_000);
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});
afterAll(async () => {
  await nc?.close();
  await cluster?.stop();
  await pushService?.close();
}, 60_000);

async function user(opts: { name?: string; deviceId?: string } = {}): Promise<MessengerClient> {
  const c = await newUser(cluster.gatewayUrls()[0]!, opts);
  clients.push(c);
  return c;
}

/** Alice, connected, and bob, her contact, whose only device is a laptop whose browser subscribed to Web Push and went away. */
async function aliceAndOfflineBob(): Promise<{ alice: MessengerClient; bob: MessengerClient; browser: BrowserSubscription; conversationId: string }> {
  const alice = await user();
  const bob = await user({ deviceId: "laptop" });
  const browser = pushService.subscribe();
  await bob.notifications.registerWebPush({ endpoint: browser.endpoint, keys: { p256dh: browser.p256dh, auth: browser.auth } });
  await makeContacts(alice, bob);
  await alice.connect();
  const conv = await alice.openDirect(bob.user!.id);
  return { alice, bob, browser, conversationId: conv.id };
}

/** How many pushes the browser got for each message id. */
function pushesByMessage(browser: BrowserSubscription): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of pushService.receivedBy(browser)) {
    const id = (r.payload as { message_id?: string }).message_id ?? "";
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

/** A metric summed over every push worker replica. */
async function pushMetric(name: string, labels?: Record<string, string>): Promise<number> {
  const values = await Promise.all(cluster.push.map((p) => p.metric(name, labels)));
  return values.reduce((a, b) => a + b, 0);
}

/**
 * True once no push candidate can come again: the router's outbox is empty (nothing left to
 * relay) and the workers' consumer has nothing pending or unacknowledged (no redelivery).
 */
async function queueSettled(): Promise<boolean> {
  if ((await cluster.router.metric("messenger_router_push_outbox_oldest_age_seconds")) !== 0) return false;
  const info = await (await jetstreamManager(nc)).consumers.info(offlineStream.name, pushWorkerGroup);
  return info.num_pending === 0 && info.num_ack_pending === 0;
}

/** Sends `n` messages `everyMs` apart (the traffic's pace, not a wait for a result). */
async function traffic(from: MessengerClient, conversationId: string, prefix: string, n: number, everyMs: number, into: Promise<Message>[]): Promise<void> {
  for (let i = 0; i < n; i++) {
    into.push(from.send(conversationId, `${prefix} ${i}`));
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

describe("push worker in the cluster", () => {
  it("wakes an offline device across processes: VAPID-signed with the key the gateway hands out, encrypted, content-free", { timeout: 60_000 }, async () => {
    const { alice, browser, conversationId } = await aliceAndOfflineBob();
    const sent = await alice.send(conversationId, "are you there?");
    await eventually(() => pushService.receivedBy(browser).length === 1, "the laptop's push service gets the push", 15_000);
    const [push] = pushService.receivedBy(browser);
    expect(push!.payload).toEqual({ type: "message", conversation_id: conversationId, seq: String(sent.seq), message_id: sent.id, badge: 1 });
    expect(push!.vapid.claims).toMatchObject({ aud: pushService.origin });
    expect(pushService.refusals).toEqual([]);

    // The gateway forwards the public PushConfigService to the push process: the key a
    // browser subscribes with is the one the push was signed with, whichever replica sent it.
    const gateway = api(cluster.gatewayUrls()[0]!);
    const sessionManager = new Http2SessionManager(cluster.gatewayUrls()[0]!);
    try {
      const u = await registerUser(gateway);
      const config = await createClient(PushConfigService, createGrpcTransport({ baseUrl: cluster.gatewayUrls()[0]!, sessionManager })).getWebPushConfig({}, u.auth);
      expect(config.vapidPublicKey).toBe(push!.vapid.publicKey);
    } finally {
      sessionManager.abort();
      gateway.close();
    }
  });

  it("two worker replicas send each notification once, and both take part", { timeout: 120_000 }, async () => {
    expect(cluster.push).toHaveLength(2);
    const { alice, browser, conversationId } = await aliceAndOfflineBob();
    const sentBefore = await Promise.all(cluster.push.map((p) => p.metric("messenger_push_sent_total")));
    const n = 60;
    const sends: Promise<Message>[] = [];
    await traffic(alice, conversationId, "burst", n, 10, sends);
    const messages = await within(Promise.all(sends), 20_000, "every send is stored");
    await eventually(() => pushesByMessage(browser).size === n, `a push for each of the ${n} messages`, 30_000);
    await eventually(queueSettled, "every candidate acknowledged", 30_000);
    const counts = pushesByMessage(browser);
    expect(messages.filter((m) => counts.get(m.id) !== 1).map((m) => [m.id, counts.get(m.id)])).toEqual([]);
    expect(pushService.receivedBy(browser)).toHaveLength(n);
    const sentBy = (await Promise.all(cluster.push.map((p) => p.metric("messenger_push_sent_total")))).map((v, i) => v - sentBefore[i]!);
    // The JetStream consumer group hands candidates to whichever replica has a pull open:
    // both get a share, and together they sent each notification once.
    expect(sentBy[0]! + sentBy[1]!).toBe(n);
    expect(sentBy.every((v) => v > 0)).toBe(true);
  });

  it("a poison candidate is dead-lettered and never blocks the queue", { timeout: 60_000 }, async () => {
    const { alice, bob, browser, conversationId } = await aliceAndOfflineBob();
    const deadBefore = await pushMetric("messenger_push_dead_letters_total", { reason: "undecodable" });
    const garbage = new TextEncoder().encode(`not a push candidate ${Date.now()}`);
    await jetstream(nc).publish(subjects.offlineNotifications(bob.user!.id), garbage);
    const real = await alice.send(conversationId, "after the garbage");
    await eventually(() => pushesByMessage(browser).get(real.id) === 1, "the real message is pushed", 15_000);
    await eventually(async () => (await pushMetric("messenger_push_dead_letters_total", { reason: "undecodable" })) === deadBefore + 1, "the dead letter counted");

    // The dead-letter stream holds the garbage as it was queued; read without acknowledging,
    // so it stays there for operators.
    const jsm = await jetstreamManager(nc);
    const inspector = await jsm.consumers.add("MESSENGER_PUSH_DEAD", { ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, inactive_threshold: nanos(30_000) });
    try {
      const consumer = await jetstream(nc).consumers.get("MESSENGER_PUSH_DEAD", inspector.name);
      const dead: Uint8Array[] = [];
      const batch = await consumer.fetch({ max_messages: 100, expires: 2_000 });
      for await (const m of batch) {
        expect(m.subject).toBe("messenger.push.dead");
        dead.push(m.data);
      }
      expect(dead.filter((d) => Buffer.from(d).equals(Buffer.from(garbage)))).toHaveLength(1);
    } finally {
      await jsm.consumers.delete("MESSENGER_PUSH_DEAD", inspector.name);
    }
    expect(await pushMetric("messenger_push_dead_letters_total", { reason: "undecodable" })).toBe(deadBefore + 1);
  });

  it("a NATS restart during traffic loses no notification: every message is pushed exactly once", { timeout: 120_000 }, async () => {
    const { alice, browser, conversationId } = await aliceAndOfflineBob();
    const sends: Promise<Message>[] = [];
    await traffic(alice, conversationId, "before", 10, 20, sends);
    await cluster.nats.kill();
    // Stored while NATS is down: the candidates wait in the store's push outbox.
    await traffic(alice, conversationId, "during", 20, 20, sends);
    await within(Promise.all(sends), 15_000, "the sends made while NATS is down are stored");
    await cluster.nats.restart();
    await traffic(alice, conversationId, "after", 10, 20, sends);
    const messages = await within(Promise.all(sends), 15_000, "every send is stored");
    expect(new Set(messages.map((m) => m.id)).size).toBe(40);

    await eventually(() => pushesByMessage(browser).size === 40, "a push for each of the 40 messages", 60_000);
    await eventually(queueSettled, "the outbox relayed and every candidate acknowledged", 60_000);
    const counts = pushesByMessage(browser);
    expect(messages.filter((m) => counts.get(m.id) !== 1).map((m) => [m.id, counts.get(m.id)])).toEqual([]);
    expect(pushService.receivedBy(browser)).toHaveLength(40);
    expect(pushService.refusals).toEqual([]);
  });
});
