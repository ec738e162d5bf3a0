import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { startNatsServer, type NatsServer } from "@messenger/testing";
import { afterAll, beforeAll } from "vitest";
import { durableQueueContract } from "./durable-queue.contract.js";
import { createMemoryQueue } from "./durable-queue.js";
import { createJetStreamQueue } from "./jetstream-queue.js";

durableQueueContract("memory", async () => createMemoryQueue({ retryMs: 50 }));

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

durableQueueContract("JetStream", async () => {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.delete("TEST_OFFLINE").catch(() => false);
  return createJetStreamQueue(nc, { name: "TEST_OFFLINE", subjects: ["messenger.offline.>"], maxAgeMs: 60_000 }, { retryMs: 50 });
});
