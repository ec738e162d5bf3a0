import { timestampMs } from "@bufbuild/protobuf/wkt";
import { createClient, createRouterTransport, type Client } from "@connectrpc/connect";
import { createTokenVerifier } from "@messenger/auth";
import { createNatsBus, createNatsSessionRegistry, deliveryCodec, subjects, type SessionRegistry } from "@messenger/bus";
import { createLogger } from "@messenger/logging";
import { RelationsService } from "@messenger/proto/accounts/v1/relations_service";
import { SessionService } from "@messenger/proto/presence/v1/presence_service";
import { createNatsAnnounceBoard, createNatsLastSeenStore, createPresenceApp, type LastSeenStore, type PresenceApp } from "@messenger/presence";
import { instrumentRoute } from "@messenger/rpc";
import { eventually, startNatsServer, type NatsServer } from "@messenger/testing";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { FakeRelations } from "../../services/presence/src/domain/fake-relations.js";

// Two presence replicas over one real nats-server, each with its own connection, session
// registry mirror, announcement board and last-seen store, as two pods would run. Gateways
// are played by calls to SessionService; what watchers are told is counted on the raw
// deliveries subject of their gateway, not through any client.

const log = createLogger("presence-replicas-test", "silent");
const ttlMs = 1_500;
const windowMs = 1_500;
const watchGateway = "gw-watch";
const watchers = ["w0", "w1", "w2"];

let nats: NatsServer;
let observer: NatsConnection;
beforeAll(async () => {
  nats = await startNatsServer();
  observer = await connect({ servers: nats.url });
});
afterAll(async () => {
  await observer?.close();
  await nats?.stop();
});

interface Replica {
  readonly app: PresenceApp;
  readonly nc: NatsConnection;
  readonly registry: SessionRegistry;
  readonly sessions: Client<typeof SessionService>;
  closed: boolean;
}

/** Last-seen writes reaching the shared store, from every replica, per user. */
const lastSeenWrites = new Map<string, number[]>();
const counting = (store: LastSeenStore): LastSeenStore => ({
  get: (ids) => store.get(ids),
  async put(userId, atMs) {
    lastSeenWrites.set(userId, [...(lastSeenWrites.get(userId) ?? []), atMs]);
    await store.put(userId, atMs);
  },
  close: () => store.close(),
});

const replicas: Replica[] = [];
async function replica(relations: FakeRelations): Promise<Replica> {
  const nc = await connect({ servers: nats.url });
  const registry = await createNatsSessionRegistry(nc, { ttlMs });
  const app = createPresenceApp({
    registry,
    bus: createNatsBus(nc),
    relations: createClient(RelationsService, createRouterTransport((r) => r.service(RelationsService, relations))),
    lastSeen: counting(await createNatsLastSeenStore(nc)),
    board: await createNatsAnnounceBoard(nc),
    verifier: createTokenVerifier({ jwks: { keys: [] } }),
    log,
    // The test sweeps by hand, both replicas at once: the worst overlap a timer could give.
    sweepIntervalMs: 3_600_000,
    announceWindowMs: windowMs,
  });
  const transport = createRouterTransport((router) => {
    for (const route of app.routes.map((r) => instrumentRoute(r, log))) router.service(route.service, route.impl as never);
  });
  const r: Replica = { app, nc, registry, sessions: createClient(SessionService, transport), closed: false };
  replicas.push(r);
  return r;
}

/** Stops a replica the way SIGTERM does: held windows sent, every send finished, then NATS flushed. */
async function shut(r: Replica): Promise<void> {
  if (r.closed) return;
  r.closed = true;
  await r.app.close();
  await r.registry.close();
  await r.nc.drain();
}

afterEach(async () => {
  for (const r of replicas.splice(0)) await shut(r);
  lastSeenWrites.clear();
});

/** Every presence frame the watchers' gateway was asked to deliver: "watcher user online|offline" -> count, and the last seen each offline carried. */
function watchFrames(): { counts: Map<string, number>; offlineAt: Map<string, number[]>; stop(): void } {
  const counts = new Map<string, number>();
  const offlineAt = new Map<string, number[]>();
  const sub = observer.subscribe(subjects.gatewayDeliveries(watchGateway), {
    callback: (err, msg) => {
      if (err) return;
      const d = deliveryCodec.decode(msg.data);
      const p = d.frame?.frame.case === "presence" ? d.frame.frame.value.presence : undefined;
      if (!p) return;
      for (const w of d.userIds) {
        const key = `${w} ${p.userId} ${p.online ? "online" : "offline"}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
        if (!p.online) offlineAt.set(p.userId, [...(offlineAt.get(p.userId) ?? []), p.lastSeenAt ? timestampMs(p.lastSeenAt) : 0]);
      }
    },
  });
  return { counts, offlineAt, stop: () => sub.unsubscribe() };
}

/** Resolves once every frame the replicas published so far has reached the observer. */
async function delivered(): Promise<void> {
  for (const r of replicas) if (!r.nc.isClosed()) await r.nc.flush();
  await observer.flush();
}

const expectEach = (counts: Map<string, number>, users: readonly string[], state: "online" | "offline", times: number): void => {
  const got = Object.fromEntries(watchers.flatMap((w) => users.map((u) => [`${w} ${u} ${state}`, counts.get(`${w} ${u} ${state}`) ?? 0])));
  expect(got).toEqual(Object.fromEntries(Object.keys(got).map((k) => [k, times])));
};

/** Watchers online on a gateway whose lease is renewed, like a live gateway's heartbeat. */
async function onlineWatchers(r: Replica): Promise<() => void> {
  for (const w of watchers) await r.sessions.registerSession({ sessionId: `s-${w}`, userId: w, deviceId: "phone", gatewayId: watchGateway });
  const heartbeat = setInterval(() => {
    void r.sessions.refreshSessions({ gatewayId: watchGateway, sessionIds: watchers.map((w) => `s-${w}`) }).catch(() => undefined);
  }, ttlMs / 5);
  return () => clearInterval(heartbeat);
}

describe("presence with two replicas", () => {
  it("tells each watcher each user's online and offline once when a gateway holding them dies, and stores last seen once, the same on both", async () => {
    const users = Array.from({ length: 40 }, (_, i) => `u${i}`);
    const relations = new FakeRelations([...watchers, ...users]);
    for (const u of users) for (const w of watchers) relations.befriend(u, w);
    const [a, b] = [await replica(relations), await replica(relations)];
    const frames = watchFrames();
    const stopHeartbeat = await onlineWatchers(a);
    try {
      // Each user comes online on two devices at once, one registered through each replica.
      await Promise.all(
        users.flatMap((u) => [
          a.sessions.registerSession({ sessionId: `${u}-phone`, userId: u, deviceId: "phone", gatewayId: "gw-dead" }),
          b.sessions.registerSession({ sessionId: `${u}-laptop`, userId: u, deviceId: "laptop", gatewayId: "gw-dead" }),
        ]),
      );
      await Promise.all([a.app.tracker.idle(), b.app.tracker.idle()]);
      await delivered();
      expectEach(frames.counts, users, "online", 1);

      // gw-dead never renews its lease: once both replicas see it lapsed, both sweep at once.
      await eventually(async () => (await a.registry.sessionsOf(users)).length === 0 && (await b.registry.sessionsOf(users)).length === 0, "the dead gateway's lease lapsed");
      const [sweptByA, sweptByB] = await Promise.all([a.app.tracker.sweep(), b.app.tracker.sweep()]);
      expect(sweptByA + sweptByB).toBe(users.length * 2);
      expect([await a.app.tracker.sweep(), await b.app.tracker.sweep()]).toEqual([0, 0]);

      // Offline goes out once the grace window has passed.
      await eventually(() => watchers.every((w) => users.every((u) => frames.counts.has(`${w} ${u} offline`))), "every offline announced", 10_000);
      const [seenByA, seenByB] = [await a.app.tracker.presenceOf(users), await b.app.tracker.presenceOf(users)];
      // Both replicas stop (sending whatever they still hold) before the count is final.
      await shut(a);
      await shut(b);
      await delivered();
      expectEach(frames.counts, users, "offline", 1);
      expectEach(frames.counts, users, "online", 1);

      expect(seenByB).toEqual(seenByA);
      for (const u of users) {
        const writes = lastSeenWrites.get(u) ?? [];
        expect(writes, `last seen writes of ${u}`).toHaveLength(1);
        expect(seenByA.find((p) => p.userId === u)).toEqual({ userId: u, online: false, lastSeenAt: writes[0] });
        // Each watcher got the stored last seen.
        expect(frames.offlineAt.get(u)).toEqual(watchers.map(() => writes[0]));
      }
    } finally {
      stopHeartbeat();
      frames.stop();
    }
  });

  it("rate-limits a user flapping through both replicas: at most two announcements in a window, the last the true state", async () => {
    const relations = new FakeRelations([...watchers, "alice"]);
    for (const w of watchers) relations.befriend("alice", w);
    const [a, b] = [await replica(relations), await replica(relations)];
    const frames = watchFrames();
    const stopHeartbeat = await onlineWatchers(a);
    try {
      const keepAlive = setInterval(() => void a.sessions.refreshSessions({ gatewayId: "gw-alice", sessionIds: [] }).catch(() => undefined), ttlMs / 5);
      const started = Date.now();
      for (let i = 0; i < 10; i++) {
        // Up through one replica, down through the other, alternating.
        const [up, down] = i % 2 === 0 ? [a, b] : [b, a];
        await up.sessions.registerSession({ sessionId: `alice-${i}`, userId: "alice", deviceId: "phone", gatewayId: "gw-alice" });
        await down.sessions.endSession({ sessionId: `alice-${i}` });
      }
      expect(Date.now() - started).toBeLessThan(windowMs);
      clearInterval(keepAlive);
      // The held offline goes out when the window opened by the first online ends.
      await eventually(() => watchers.every((w) => frames.counts.has(`${w} alice offline`)), "alice's offline announced");
      await shut(a);
      await shut(b);
      await delivered();
      expectEach(frames.counts, ["alice"], "online", 1);
      expectEach(frames.counts, ["alice"], "offline", 1);
      // Stored on every went-offline, by whichever replica decided it: ten times, never twice for one.
      expect(lastSeenWrites.get("alice")).toHaveLength(10);
    } finally {
      stopHeartbeat();
      frames.stop();
    }
  });
});
