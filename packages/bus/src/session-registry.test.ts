import { create, toBinary } from "@bufbuild/protobuf";
import { GatewayLeaseSchema, SessionEntrySchema } from "@messenger/proto/bus/v1/events";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { startNatsServer, type NatsServer } from "@messenger/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { purgeOldDeletes } from "./kv-purge-deletes.js";
import { createNatsSessionRegistry, registryBuckets } from "./nats-session-registry.js";
import { sessionRegistryContract } from "./session-registry.contract.js";
import { createMemorySessionRegistry, type SessionRegistry } from "./session-registry.js";

let memory: SessionRegistry | undefined;
sessionRegistryContract(
  "memory",
  async (ttl) => (memory = createMemorySessionRegistry(ttl)),
  // One process: a second caller shares the registry; closing its handle leaves it open.
  async () => ({ ...memory!, close: async () => {} }),
);

let nats: NatsServer;
let nc: NatsConnection;
beforeAll(async () => {
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
});
afterAll(async () => {
  await nc.close();
  await nats.stop();
});

let natsTtlMs = 0;
const peerConnections: NatsConnection[] = [];
afterAll(async () => {
  for (const c of peerConnections) await c.close();
});
sessionRegistryContract(
  "NATS KV",
  async (ttlMs) => {
    const jsm = await jetstreamManager(nc);
    for (const bucket of Object.values(registryBuckets)) await jsm.streams.delete(`KV_${bucket}`).catch(() => false);
    natsTtlMs = ttlMs;
    return createNatsSessionRegistry(nc, { ttlMs });
  },
  // Another presence replica: its own connection and mirror on the same buckets.
  async () => {
    const other = await connect({ servers: nats.url });
    peerConnections.push(other);
    return createNatsSessionRegistry(other, { ttlMs: natsTtlMs });
  },
);

describe("NATS KV registry reads, whatever the propagation delay", () => {
  it("sees a session registered through another connection as soon as the put returned, with the watch delayed by 1.5 s", async () => {
    const jsm = await jetstreamManager(nc);
    for (const bucket of Object.values(registryBuckets)) await jsm.streams.delete(`KV_${bucket}`).catch(() => false);
    const other = await connect({ servers: nats.url });
    const writer = await createNatsSessionRegistry(nc, { ttlMs: 10_000 });
    const reader = await createNatsSessionRegistry(other, { ttlMs: 10_000, mirrorDelayMs: 1_500 });
    try {
      await writer.put({ sessionId: "s1", userId: "alice", deviceId: "phone", gatewayId: "gw-new" });
      expect((await reader.sessionsOf(["alice"])).map((s) => s.sessionId)).toEqual(["s1"]);
      await writer.remove("s1");
      expect(await reader.sessionsOf(["alice"])).toEqual([]);
    } finally {
      await writer.close();
      await reader.close();
      await other.close();
    }
  });

  it("removes a session its mirror has not brought yet, and reports it", async () => {
    const jsm = await jetstreamManager(nc);
    for (const bucket of Object.values(registryBuckets)) await jsm.streams.delete(`KV_${bucket}`).catch(() => false);
    const other = await connect({ servers: nats.url });
    const writer = await createNatsSessionRegistry(nc, { ttlMs: 10_000 });
    const remover = await createNatsSessionRegistry(other, { ttlMs: 10_000, mirrorDelayMs: 1_500 });
    try {
      await writer.put({ sessionId: "s1", userId: "alice", deviceId: "phone", gatewayId: "gw-1" });
      expect(await remover.remove("s1")).toEqual({ sessionId: "s1", userId: "alice", deviceId: "phone", gatewayId: "gw-1" });
      expect(await writer.sessionsOf(["alice"])).toEqual([]);
    } finally {
      await writer.close();
      await remover.close();
      await other.close();
    }
  });

  it("does not expire the sessions of a gateway whose lease its mirror has not brought yet", async () => {
    const jsm = await jetstreamManager(nc);
    for (const bucket of Object.values(registryBuckets)) await jsm.streams.delete(`KV_${bucket}`).catch(() => false);
    const other = await connect({ servers: nats.url });
    const sweeper = await createNatsSessionRegistry(other, { ttlMs: 10_000, mirrorDelayMs: 1_500 });
    try {
      const kvm = new Kvm(jetstream(nc));
      const sessions = await kvm.open(registryBuckets.sessions);
      const leases = await kvm.open(registryBuckets.leases);
      // The session reaches the sweeper's mirror before its gateway's lease does.
      await sessions.put("s1", toBinary(SessionEntrySchema, create(SessionEntrySchema, { sessionId: "s1", userId: "alice", deviceId: "phone", gatewayId: "gw-new" })));
      expect((await sweeper.sessionsOf(["alice"])).map((s) => s.sessionId)).toEqual(["s1"]);
      await leases.put("gw-new", toBinary(GatewayLeaseSchema, create(GatewayLeaseSchema, { gatewayId: "gw-new", expiresAtMs: BigInt(Date.now() + 10_000) })));
      expect(await sweeper.expire()).toEqual([]);
      expect((await sweeper.sessionsOf(["alice"])).map((s) => s.sessionId)).toEqual(["s1"]);
      // A gateway with no lease on the server is dead, whatever the mirror knows.
      await sessions.put("s2", toBinary(SessionEntrySchema, create(SessionEntrySchema, { sessionId: "s2", userId: "bob", deviceId: "phone", gatewayId: "gw-gone" })));
      expect((await sweeper.sessionsOf(["bob"])).map((s) => s.sessionId)).toEqual(["s2"]);
      expect((await sweeper.expire()).map((s) => s.sessionId)).toEqual(["s2"]);
    } finally {
      await sweeper.close();
      await other.close();
    }
  });

  it("skips an undecodable entry, says so, and keeps serving the others", async () => {
    const jsm = await jetstreamManager(nc);
    for (const bucket of Object.values(registryBuckets)) await jsm.streams.delete(`KV_${bucket}`).catch(() => false);
    const errors: string[] = [];
    const reg = await createNatsSessionRegistry(nc, { ttlMs: 10_000, onError: (_err, what) => errors.push(what) });
    try {
      const kv = await new Kvm(jetstream(nc)).open(registryBuckets.sessions);
      await kv.put("garbage", new Uint8Array([0xff, 0xff, 0xff]));
      await reg.put({ sessionId: "s2", userId: "bob", deviceId: "phone", gatewayId: "gw-1" });
      expect((await reg.sessionsOf(["bob"])).map((s) => s.sessionId)).toEqual(["s2"]);
      expect(errors.some((e) => e.includes("garbage"))).toBe(true);
    } finally {
      await reg.close();
    }
  });
});

describe("NATS KV registry: delete markers of removed sessions", () => {
  const resetBuckets = async (): Promise<void> => {
    const jsm = await jetstreamManager(nc);
    for (const bucket of Object.values(registryBuckets)) await jsm.streams.delete(`KV_${bucket}`).catch(() => false);
  };
  const sessionMessages = async (): Promise<number> => (await (await jetstreamManager(nc)).streams.info(`KV_${registryBuckets.sessions}`)).state.messages;

  it("purges them periodically, so the sessions bucket holds only the live sessions", async () => {
    await resetBuckets();
    // Each purge run reports; the test waits on those reports, not on time.
    let reported: () => void = () => {};
    const onPurged = (): void => reported();
    const reg = await createNatsSessionRegistry(nc, { ttlMs: 10_000, deleteMarkers: { everyMs: 20, olderThanMs: 0, onPurged } });
    try {
      for (let i = 0; i < 40; i++) {
        await reg.put({ sessionId: `gone-${i}`, userId: "alice", deviceId: `d${i}`, gatewayId: "gw-1" });
        await reg.remove(`gone-${i}`);
      }
      await reg.put({ sessionId: "live", userId: "alice", deviceId: "phone", gatewayId: "gw-1" });
      while ((await sessionMessages()) > 1) await new Promise<void>((resolve) => (reported = resolve));
      expect(await sessionMessages()).toBe(1);
      expect((await reg.sessionsOf(["alice"])).map((s) => s.sessionId)).toEqual(["live"]);
      // A replica starting now reads the live session from the purged bucket.
      const other = await connect({ servers: nats.url });
      peerConnections.push(other);
      const fresh = await createNatsSessionRegistry(other, { ttlMs: 10_000 });
      expect((await fresh.sessionsOf(["alice"])).map((s) => s.sessionId)).toEqual(["live"]);
      await fresh.close();
    } finally {
      await reg.close();
    }
  });

  it("treats removing a session whose delete marker was purged as already removed", async () => {
    await resetBuckets();
    const writer = await createNatsSessionRegistry(nc, { ttlMs: 10_000 });
    const other = await connect({ servers: nats.url });
    peerConnections.push(other);
    // This replica's mirror holds s1 at its old revision and does not see the removal.
    await writer.put({ sessionId: "s1", userId: "alice", deviceId: "phone", gatewayId: "gw-1" });
    const stale = await createNatsSessionRegistry(other, { ttlMs: 10_000, mirrorDelayMs: 30_000 });
    try {
      expect(await writer.remove("s1")).toBeDefined();
      expect(await purgeOldDeletes(nc, registryBuckets.sessions, 0)).toBe(1);
      expect(await stale.remove("s1")).toBeUndefined();
    } finally {
      await stale.close();
      await writer.close();
    }
  });

  it("tells a failed purge to onError and keeps running", async () => {
    await resetBuckets();
    const failures: unknown[] = [];
    let failed: () => void = () => {};
    const reg = await createNatsSessionRegistry(nc, {
      ttlMs: 10_000,
      deleteMarkers: { everyMs: 20, olderThanMs: 0 },
      onError: (err, what) => {
        if (!what.includes("not purged")) return;
        failures.push(err);
        failed();
      },
    });
    try {
      // The bucket's stream gone: every purge fails until it is back.
      await (await jetstreamManager(nc)).streams.delete(`KV_${registryBuckets.sessions}`);
      while (failures.length < 2) await new Promise<void>((resolve) => (failed = resolve));
      expect(failures.length).toBeGreaterThanOrEqual(2);
    } finally {
      await reg.close();
    }
  });

  it("stops purging once closed", async () => {
    await resetBuckets();
    const runs: string[] = [];
    let ran: () => void = () => {};
    const firstRun = new Promise<void>((resolve) => (ran = resolve));
    const other = await connect({ servers: nats.url });
    const reg = await createNatsSessionRegistry(other, {
      ttlMs: 10_000,
      deleteMarkers: {
        everyMs: 5,
        olderThanMs: 0,
        onPurged: () => {
          runs.push("purged");
          ran();
        },
      },
      onError: (_err, what) => runs.push(what),
    });
    await firstRun;
    await reg.close();
    const afterClose = runs.length;
    await other.close();
    // Forty intervals: a schedule still running would have run (and failed on the closed connection).
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(runs.length).toBe(afterClose);
  });
});
