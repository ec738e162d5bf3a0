import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { startNatsServer, type NatsServer } from "@messenger/testing";
import { afterAll, beforeAll } from "vitest";
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
