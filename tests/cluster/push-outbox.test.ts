import { createJetStreamQueue, offlineNotificationCodec, offlineStream, pushWorkerGroup } from "@messenger/bus";
import type { OfflineNotification } from "@messenger/proto/bus/v1/events";
import type { Message } from "@messenger/proto/chat/v1/types";
import { MessengerClient } from "@messenger/sdk";
import { eventually, startCluster, within, type LocalCluster } from "@messenger/testing";
import { newUser } from "@messenger/test-system";
import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// The push outbox end to end: services as separate processes, a real nats-server that is
// SIGKILLed during traffic. Every message stored meanwhile has an outbox entry in the store;
// the router's relay queues its push candidates once NATS is back.
let cluster: LocalCluster;
const clients: MessengerClient[] = [];
beforeAll(async () => {
  cluster = await startCluster({
    // The test reads the push candidates itself: no push worker takes them first.
    pushWorkers: 0,
    gateways: 1,
    env: {
      SCRYPT_LOG_N: "12",
      LOG_LEVEL: "warn",
      SEND_RATE_LIMIT_PER_DEVICE: "off",
      SEND_RATE_LIMIT_PER_USER: "off",
      PUSH_OUTBOX_RELAY_INTERVAL_MS: "300",
      PUSH_OUTBOX_GRACE_MS: "1000",
      PUSH_OUTBOX_LEASE_MS: "2000",
    },
  });
}, 120_000);
afterAll(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await cluster?.stop();
}, 60_000);

async function user(deviceId: string): Promise<MessengerClient> {
  const seed = await newUser(cluster.gatewayUrls()[0]!);
  const username = seed.user!.username;
  await seed.close();
  const c = new MessengerClient({ url: cluster.gatewayUrls(), deviceId, reconnectBaseMs: 50, reconnectMaxMs: 500, gapWaitMs: 100 });
  await c.login(username, "correct horse battery");
  clients.push(c);
  return c;
}

describe("push outbox: offline notifications survive a NATS outage", () => {
  it("a NATS restart during traffic loses no notification: every message sent to an offline user ends up on the queue exactly once", async () => {
    const alice = await user("phone");
    const bob = await user("phone");
    await alice.connect();
    const conv = await alice.openDirect(bob.user!.id);
    const relayedBefore = await cluster.router.metric("messenger_router_push_outbox_relayed_total");

    const sent: Promise<Message>[] = [];
    const sendSome = async (prefix: string, n: number) => {
      for (let i = 0; i < n; i++) {
        sent.push(alice.send(conv.id, `${prefix} ${i}`));
        // The traffic's pace (a scenario, not a wait for a result).
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await sendSome("before", 10);
    await cluster.nats.kill();
    // Stored while NATS is down: the store is up, so the sends succeed; their candidates
    // cannot be queued, and only the outbox keeps them.
    await sendSome("during", 20);
    const duringDown = await within(Promise.all(sent), 15_000, "the sends made while NATS is down are stored");
    await cluster.nats.restart();
    await sendSome("after", 10);
    const messages = await within(Promise.all(sent), 15_000, "every send is stored");
    expect(new Set(messages.map((m) => m.id)).size).toBe(40);
    expect(duringDown.length).toBe(30);

    // The push worker's view: its consumer group on the offline queue.
    const nc = await connect({ servers: cluster.nats.url });
    const queue = await createJetStreamQueue(nc, offlineStream);
    const got: OfflineNotification[] = [];
    await queue.consume(pushWorkerGroup, async (d) => void got.push(offlineNotificationCodec.decode(d)));
    try {
      const wanted = new Set(messages.map((m) => m.id));
      const forBob = () => got.filter((n) => n.userId === bob.user!.id && wanted.has(n.messageId));
      await eventually(() => new Set(forBob().map((n) => n.messageId)).size === 40, "a candidate for bob for each of the 40 messages", 30_000);
      // The relay carried what was stored while NATS was down.
      expect(await cluster.router.metric("messenger_router_push_outbox_relayed_total")).toBeGreaterThan(relayedBefore);
      // Nothing more can come once the outbox is empty: the relay's gauge says so after a
      // pass that found it empty, and a marker published after that arrives behind anything
      // queued before it.
      await eventually(async () => (await cluster.router.metric("messenger_router_push_outbox_oldest_age_seconds")) === 0, "the outbox drained", 15_000);
      await queue.publish(`messenger.offline.marker`, offlineNotificationCodec.encode({ userId: "marker", messageId: "marker" }));
      await eventually(() => got.some((n) => n.userId === "marker"), "the marker");
      const counts = new Map<string, number>();
      for (const n of forBob()) counts.set(n.messageId, (counts.get(n.messageId) ?? 0) + 1);
      expect([...wanted].filter((id) => counts.get(id) !== 1)).toEqual([]);
      // Content-free, with bob's devices listed as not live, and none for the author.
      expect(forBob().every((n) => n.conversationId === conv.id && n.senderUserId === alice.user!.id && n.liveDeviceIds.length === 0)).toBe(true);
      expect(got.filter((n) => n.userId === alice.user!.id)).toEqual([]);
    } finally {
      await queue.close();
      await nc.close();
    }
  }, 90_000);

  it("a user whose laptop is online is still a candidate, with the laptop listed, so the push worker can reach the phone", async () => {
    const alice = await user("phone");
    const bob = await user("laptop");
    await Promise.all([alice.connect(), bob.connect()]);
    const conv = await alice.openDirect(bob.user!.id);
    const nc = await connect({ servers: cluster.nats.url });
    const queue = await createJetStreamQueue(nc, offlineStream);
    const got: OfflineNotification[] = [];
    await queue.consume(pushWorkerGroup, async (d) => void got.push(offlineNotificationCodec.decode(d)));
    try {
      const m = await alice.send(conv.id, "hello laptop");
      await eventually(() => got.some((n) => n.messageId === m.id), "bob's candidate");
      expect(got.filter((n) => n.messageId === m.id)).toEqual([expect.objectContaining({ userId: bob.user!.id, liveDeviceIds: ["laptop"] })]);
    } finally {
      await queue.close();
      await nc.close();
    }
  }, 30_000);
});
