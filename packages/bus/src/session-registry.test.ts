import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { startNatsServer, type NatsServer } from "@messenger/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNatsSessionRegistry, registryBuckets } from "./nats-session-registry.js";
import { sessionRegistryContract } from "./session-registry.contract.js";
import { createMemorySessionRegistry } from "./session-registry.js";

sessionRegistryContract("memory", async (ttl) => createMemorySessionRegistry(ttl));

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

sessionRegistryContract(
  "NATS KV",
  async (ttlMs) => {
    const jsm = await jetstreamManager(nc);
    for (const bucket of Object.values(registryBuckets)) await jsm.streams.delete(`KV_${bucket}`).catch(() => false);
    return createNatsSessionRegistry(nc, { ttlMs });
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
