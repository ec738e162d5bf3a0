import { createJetStreamQueue, offlineNotificationCodec, offlineStream, pushWorkerGroup } from "@messenger/bus";
import type { OfflineNotification } from "@messenger/proto/bus/v1/events";
import type { Message } from "@messenger/proto/chat/v1/types";
import { connect } from "@nats-io/transport-node";
import { MessengerClient } from "@messenger/sdk";
import { eventually, startCluster, within, type LocalCluster } from "@messenger/testing";
import { collectMessages, makeContacts, newUser } from "@messenger/test-system";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Direction } from "@messenger/proto/history/v1/history_service";
import { api, registerUsers, textOf } from "../support/api-user.js";
import { befriend, visiblePresence } from "../support/contacts.js";
import { RawMember } from "../support/raw-member.js";

// Services as separate processes, a real nats-server, real gRPC between them. Heartbeats are
// short so that a crashed gateway's sessions expire within 1.5 s (3 intervals), and going
// offline is announced 300 ms after that (the presence grace window).
let cluster: LocalCluster;
const clients: MessengerClient[] = [];
beforeAll(async () => {
  cluster = await startCluster({ gateways: 2, pushWorkers: 0, env: { HEARTBEAT_INTERVAL_MS: "500", PRESENCE_ANNOUNCE_WINDOW_MS: "300", SCRYPT_LOG_N: "12", LOG_LEVEL: "warn", SHUTDOWN_GRACE_MS: "2000", RETENTION_SWEEP_INTERVAL_MS: "300" } });
}, 120_000);
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});
afterAll(async () => {
  await cluster?.stop();
}, 60_000);

/** A user whose client knows both gateways, starting with gateway `first` (0 or 1). */
async function user(first: number, opts: { name?: string; deviceId?: string; only?: boolean } = {}): Promise<MessengerClient> {
  const urls = cluster.gatewayUrls();
  const ordered = opts.only ? [urls[first]!] : [urls[first]!, ...urls.filter((_, i) => i !== first)];
  const seed = await newUser(ordered[0]!, opts);
  const username = seed.user!.username;
  await seed.close();
  const c = new MessengerClient({ url: ordered, deviceId: opts.deviceId ?? "phone", reconnectBaseMs: 50, reconnectMaxMs: 500, gapWaitMs: 100 });
  await c.login(username, "correct horse battery");
  clients.push(c);
  return c;
}


/** Sends `count` messages, `everyMs` apart, and returns the texts in send order. */
async function steadyTraffic(from: MessengerClient, conversationId: string, prefix: string, count: number, everyMs: number): Promise<string[]> {
  const texts: string[] = [];
  const sends: Promise<Message>[] = [];
  for (let i = 0; i < count; i++) {
    const text = `${prefix} ${i}`;
    texts.push(text);
    sends.push(from.send(conversationId, text));
    await new Promise((r) => setTimeout(r, everyMs));
  }
  await Promise.all(sends);
  return texts;
}

describe("cluster: services as separate processes over gRPC and NATS", () => {
  it("users on different gateways chat with ordering, receipts, presence and typing", async () => {
    const alice = await user(0, { only: true });
    const bob = await user(1, { only: true });
    await makeContacts(alice, bob);
    await alice.connect();
    const conv = await alice.openDirect(bob.user!.id);
    const presence: boolean[] = [];
    alice.on("presence", (p) => p.userId === bob.user!.id && presence.push(p.online));
    await bob.connect();
    await eventually(() => presence.includes(true), "alice sees bob online");
    const bobGot = collectMessages(bob);
    for (let i = 0; i < 30; i++) await alice.send(conv.id, `m${i}`);
    await eventually(() => bobGot.length === 30, "bob gets 30 across gateways");
    expect(bobGot.map((m) => Number(m.seq))).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    await eventually(() => (alice.receiptsOf(conv.id).get(bob.user!.id)?.deliveredSeq ?? 0n) === 30n, "delivered receipt");
    bob.markRead(conv.id, 30n);
    await eventually(() => alice.receiptsOf(conv.id).get(bob.user!.id)?.readSeq === 30n, "read receipt");
    const typing: boolean[] = [];
    alice.on("typing", (t) => typing.push(t.typing));
    bob.setTyping(conv.id, true);
    await eventually(() => typing.includes(true), "typing across gateways");
    await bob.close();
    await eventually(() => presence.at(-1) === false, "alice sees bob offline");
  });

  it("a block made through one gateway is honoured at once by a send arriving through the other: no stale window", async () => {
    const [gw1, gw2] = cluster.gatewayUrls().map(api);
    try {
      const [ann, ben] = await registerUsers(gw1!, 2);
      await befriend(gw1!, ann, ben);
      const conv = (await gw1!.history.openDirectConversation({ peerUserId: ben.id }, ann.auth)).conversation!;
      const annOnGw1 = new RawMember(ann.id, async () => ann.token);
      await annOnGw1.connect(cluster.gateways[0]!.grpcPort);
      try {
        let expectedSeq = 0n;
        for (let round = 0; round < 5; round++) {
          // Ben blocks through gateway 2; the very next send through gateway 1 is refused.
          await gw2!.contacts.block({ userId: ann.id }, ben.auth);
          const refused = await annOnGw1.sendText(conv.id, `blocked ${round}`);
          expect(refused.errorCode, `round ${round}`).toBe(7); // PERMISSION_DENIED
          await gw2!.contacts.unblock({ userId: ann.id }, ben.auth);
          const sent = await annOnGw1.sendText(conv.id, `allowed ${round}`);
          expect(sent.errorCode, `round ${round}`).toBe(0);
          expect(sent.message?.seq).toBe(++expectedSeq);
        }
        const page = await gw2!.history.listMessages({ conversationId: conv.id, direction: Direction.FORWARD, pageSize: 50 }, ben.auth);
        expect(page.messages.map(textOf)).toEqual(Array.from({ length: 5 }, (_, i) => `allowed ${i}`));
      } finally {
        annOnGw1.close();
      }
    } finally {
      gw1!.close();
      gw2!.close();
    }
  });

  it("last seen survives a restart of the presence service (kept in NATS KV)", async () => {
    const gw = api(cluster.gatewayUrls()[0]!);
    try {
      const [ann, ben] = await registerUsers(gw, 2);
      await befriend(gw, ann, ben);
      const seen = () => visiblePresence(gw, ann, ben.id);
      const benDevice = new RawMember(ben.id, async () => ben.token);
      await benDevice.connect(cluster.gateways[1]!.grpcPort);
      await eventually(async () => (await seen())?.online === true, "ben online");
      benDevice.close();
      let lastSeen = 0n;
      await eventually(async () => {
        const p = await seen();
        lastSeen = p && !p.online ? p.lastSeen : 0n;
        return lastSeen > 0n;
      }, "ben offline with a last seen");
      await within(cluster.presence.stop(), 15_000, "presence stops");
      await within(cluster.presence.restart(), 15_000, "presence restarts");
      // Each probe has its own deadline: a call that hangs on the restarting service must not
      // eat the whole test's time and hide which step was slow.
      const probe = () => within(seen(), 2_000, "GetPresence").catch(() => undefined);
      await eventually(async () => (await probe()) !== undefined, "presence answers again", 15_000);
      expect(await seen()).toEqual({ online: false, lastSeen });
    } finally {
      gw.close();
    }
  }, 60_000);

  it("a retention change made through one gateway reaches a member on the other live, as a system message", async () => {
    const alice = await user(0, { only: true });
    const bob = await user(1, { only: true });
    await Promise.all([alice.connect(), bob.connect()]);
    const conv = await alice.openDirect(bob.user!.id);
    const bobGot = collectMessages(bob);
    await alice.setRetention(conv.id, { mode: "disappearing", ttlSeconds: 86_400 });
    await eventually(() => bobGot.length === 1, "bob gets the change on the other gateway");
    const ev = bobGot[0]!.body;
    expect(ev.case === "system" && ev.value.event.case === "retentionChanged" ? ev.value.event.value.retention?.ttlSeconds : 0).toBe(86_400);
    expect((await bob.getConversation(conv.id)).retention?.ttlSeconds).toBe(86_400);
  });

  it("store-and-forward: the store process asks accounts for the devices and deletes a message once every one has it", async () => {
    const alice = await user(0, { only: true });
    const bob = await user(1, { only: true });
    await Promise.all([alice.connect(), bob.connect()]);
    const conv = await alice.openDirect(bob.user!.id);
    const bobGot = collectMessages(bob);
    await alice.setRetention(conv.id, { mode: "store_and_forward" });
    const sent = await alice.send(conv.id, "once");
    await eventually(() => bobGot.length === 2, "bob gets the change and the message");
    // The store's own sweeper (every 300 ms here) deletes both once bob's and alice's devices acknowledged them.
    await eventually(async () => (await bob.getConversation(conv.id)).minSeq === sent.seq + 1n, "min_seq moves above the delivered messages");
    expect((await alice.listMessages(conv.id)).messages).toEqual([]);
  });

  it("a gateway receives deliveries only for its own sessions", async () => {
    const [gw1, gw2] = cluster.gateways;
    const alice = await user(0, { only: true });
    const bob = await user(0, { only: true });
    await Promise.all([alice.connect(), bob.connect()]);
    const conv = await alice.openDirect(bob.user!.id);
    const bobGot = collectMessages(bob);
    const before1 = await gw1!.metric("messenger_gateway_deliveries_received_total");
    const before2 = await gw2!.metric("messenger_gateway_deliveries_received_total");
    const latencyBefore = [await gw1!.metric("messenger_gateway_delivery_seconds_count"), await gw2!.metric("messenger_gateway_delivery_seconds_count")];
    for (let i = 0; i < 20; i++) await alice.send(conv.id, `local ${i}`);
    await eventually(() => bobGot.length === 20, "bob gets 20");
    expect((await gw1!.metric("messenger_gateway_deliveries_received_total")) - before1).toBeGreaterThanOrEqual(20);
    expect((await gw2!.metric("messenger_gateway_deliveries_received_total")) - before2).toBe(0);
    // Store → stream latency, once per message delivered here (the dashboard's panel).
    expect((await gw1!.metric("messenger_gateway_delivery_seconds_count")) - latencyBefore[0]!).toBe(20);
    expect((await gw2!.metric("messenger_gateway_delivery_seconds_count")) - latencyBefore[1]!).toBe(0);
  });

  it("drain: SIGTERM one gateway during a conversation; everyone moves over and nothing is lost or doubled", async () => {
    const alice = await user(0);
    const bob = await user(0);
    const carol = await user(1);
    await Promise.all([alice.connect(), bob.connect(), carol.connect()]);
    const conv = await alice.openDirect(bob.user!.id);
    const bobGot = collectMessages(bob);
    const traffic = steadyTraffic(alice, conv.id, "drain", 60, 20);
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    const gw1 = cluster.gateways[0]!;
    expect(await gw1.stop("SIGTERM")).toBe(0);
    const drainMs = Date.now() - started;
    const texts = await traffic;
    await eventually(() => bobGot.length === 60, "bob gets all 60");
    expect(bobGot.map((m) => textOf(m))).toEqual(texts);
    expect(new Set(bobGot.map((m) => m.id)).size).toBe(60);
    expect(alice.currentUrl).toBe(cluster.gatewayUrls()[1]);
    expect(bob.currentUrl).toBe(cluster.gatewayUrls()[1]);
    console.log(`drain of gateway-1 with its clients took ${drainMs} ms`);
    await gw1.restart();
  }, 60_000);

  it("crash: SIGKILL a gateway; its users go offline within the TTL, come back, and lose nothing", async () => {
    const watcher = await user(1, { only: true });
    const stuck = await user(0, { only: true });
    const alice = await user(0);
    const bob = await user(1);
    await makeContacts(watcher, stuck);
    await watcher.connect();
    const states: boolean[] = [];
    watcher.on("presence", (p) => p.userId === stuck.user!.id && states.push(p.online));
    await Promise.all([stuck.connect(), alice.connect(), bob.connect()]);
    await eventually(() => states.at(-1) === true, "stuck user online");
    const conv = await bob.openDirect(alice.user!.id);
    const aliceGot = collectMessages(alice);
    const traffic = steadyTraffic(bob, conv.id, "crash", 50, 20);
    await new Promise((r) => setTimeout(r, 300));
    const gw1 = cluster.gateways[0]!;
    const killedAt = Date.now();
    await gw1.stop("SIGKILL");
    const reconnected = new Promise<number>((resolve) => alice.once("connected", () => resolve(Date.now() - killedAt)));
    await eventually(() => states.at(-1) === false, "stuck user offline after the crash", 10_000);
    const offlineAfter = Date.now() - killedAt;
    const texts = await traffic;
    await eventually(() => aliceGot.length === 50, "alice gets all 50 after moving to gateway-2");
    expect(aliceGot.map((m) => textOf(m))).toEqual(texts);
    console.log(`crash: alice reconnected after ${await reconnected} ms; stuck user shown offline after ${offlineAfter} ms`);
    expect(offlineAfter).toBeLessThan(1500 + 1500);
    await gw1.restart();
    await eventually(() => states.at(-1) === true, "stuck user back online after gateway-1 restarts", 15_000);
  }, 60_000);

  it("restarting the router and the store during traffic: sends fail meanwhile and succeed on retry, no loss, no duplicates", async () => {
    const alice = await user(0);
    const bob = await user(1);
    await Promise.all([alice.connect(), bob.connect()]);
    const conv = await alice.openDirect(bob.user!.id);
    const bobGot = collectMessages(bob);
    const refusedBefore = await cluster.gateways[0]!.metric("messenger_gateway_sends_total", { result: "refused" });
    const traffic = steadyTraffic(alice, conv.id, "restart", 60, 25);
    await new Promise((r) => setTimeout(r, 300));
    await cluster.router.stop("SIGKILL");
    await new Promise((r) => setTimeout(r, 300));
    await cluster.router.restart();
    await new Promise((r) => setTimeout(r, 200));
    await cluster.store.stop("SIGKILL");
    await new Promise((r) => setTimeout(r, 300));
    await cluster.store.restart();
    const texts = await traffic;
    const page = await bob.listMessages(conv.id, { pageSize: 500 });
    expect(page.messages.map((m) => textOf(m))).toEqual(texts);
    await eventually(() => bobGot.length === 60, "bob gets all 60");
    expect(bobGot.map((m) => textOf(m))).toEqual(texts);
    // The outage was real: the gateway refused sends while router or store were down.
    expect(await cluster.gateways[0]!.metric("messenger_gateway_sends_total", { result: "refused" })).toBeGreaterThan(refusedBefore);
  }, 60_000);

  it("a group across both gateways, one SIGKILLed during group traffic: every member gets every message once, in order, on raw streams", async () => {
    const [gw1, gw2] = cluster.gateways as [typeof cluster.gateways[0], typeof cluster.gateways[0]];
    const a = api(cluster.gatewayUrls()[1]!);
    try {
      const senders = [await user(0), await user(1)];
      const [owner, ...rest] = await registerUsers(a, 7);
      const conv = (await a.groups.createGroup({ title: "crash", memberUserIds: [...rest.map((u) => u.id), ...senders.map((s) => s.user!.id)] }, owner!.auth)).conversation!;
      const receivers = await Promise.all(
        rest.map(async (u, i) => {
          const m = new RawMember(u.id, async () => u.token);
          await m.connect((i % 2 === 0 ? gw1 : gw2).grpcPort);
          // A receiver whose gateway dies resumes on the other one, from the seqs it has.
          if (i % 2 === 0) void m.ended().then(() => m.connect(gw2.grpcPort).catch(() => undefined));
          return m;
        }),
      );
      await Promise.all(senders.map((s) => s.connect()));
      const traffic = Promise.all(senders.map((s, i) => steadyTraffic(s, conv.id, `g${i}`, 40, 25)));
      await new Promise((r) => setTimeout(r, 400));
      await gw1.stop("SIGKILL");
      await traffic;
      const history = await a.history.listMessages({ conversationId: conv.id, direction: Direction.FORWARD, pageSize: 500 }, owner!.auth);
      const all = history.messages.map((m) => m.seq);
      expect(all.length).toBe(81);
      for (const r of receivers) {
        await eventually(() => r.audit(conv.id, all).lost === 0, `member ${r.userId} gets every message`, 15_000);
        expect(r.audit(conv.id, all)).toEqual({ lost: 0, duplicated: 0, outOfOrder: 0 });
      }
      for (const r of receivers) r.close();
    } finally {
      a.close();
      if (gw1.child.exitCode !== null || gw1.child.signalCode !== null) await gw1.restart();
    }
  }, 90_000);

  it("a member with no live session gets an offline notification on the JetStream queue, without content", async () => {
    const alice = await user(0, { only: true });
    const bob = await user(1, { only: true });
    await alice.connect();
    const conv = await alice.openDirect(bob.user!.id);
    const nc = await connect({ servers: cluster.nats.url });
    const queue = await createJetStreamQueue(nc, offlineStream);
    const got: OfflineNotification[] = [];
    await queue.consume(pushWorkerGroup, async (d) => void got.push(offlineNotificationCodec.decode(d)));
    const m = await alice.send(conv.id, "secret text");
    await eventually(() => got.some((n) => n.messageId === m.id), "a notification for bob");
    const n = got.find((x) => x.messageId === m.id)!;
    expect(n).toMatchObject({ userId: bob.user!.id, conversationId: conv.id, seq: m.seq, senderUserId: alice.user!.id });
    expect(new TextDecoder().decode(offlineNotificationCodec.encode(n))).not.toContain("secret");
    expect(got.filter((x) => x.userId === alice.user!.id)).toHaveLength(0);
    await queue.close();
    await nc.close();
  });

  it("a NATS restart: services reconnect by themselves and delivery resumes", async () => {
    const alice = await user(0, { only: true });
    const bob = await user(1, { only: true });
    await Promise.all([alice.connect(), bob.connect()]);
    const conv = await alice.openDirect(bob.user!.id);
    const bobGot = collectMessages(bob);
    await alice.send(conv.id, "before");
    await eventually(() => bobGot.length === 1, "delivery before the restart");
    const gw2 = cluster.gateways[1]!;
    const catchUps = await gw2.metric("messenger_gateway_bus_catch_ups_total");
    // Stored while NATS is down: its delivery is published into a dead link, and nothing
    // else happens in the conversation afterwards to reveal a gap. No wait anywhere: the
    // gateway's catch-up after its reconnect is what must bring it.
    await cluster.nats.kill();
    await alice.send(conv.id, "while NATS is down");
    await cluster.nats.restart();
    await eventually(() => bobGot.length === 2, "the message stored while NATS was down reaches bob", 15_000);
    expect(bobGot.map((m) => textOf(m))).toEqual(["before", "while NATS is down"]);
    await eventually(async () => (await gw2.metric("messenger_gateway_bus_catch_ups_total")) > catchUps, "gateway 2 caught its sessions up after its reconnect");
  }, 60_000);
});
