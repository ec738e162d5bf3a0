import { JetStreamSetupError } from "@messenger/bus";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { startNatsServer, type NatsServer } from "@messenger/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { announceBucket, createNatsAnnounceBoard } from "./nats-announce-board.js";
import { createNatsLastSeenStore, lastSeenBucket } from "./nats-last-seen-store.js";

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

// The buckets on a NATS cluster are covered with the session registry's (packages/bus,
// jetstream-replicas.test.ts): both go through ensureBucket.
describe("the presence buckets' JetStream replicas", () => {
  it("creates last seen and the announcement board with the replicas asked for", async () => {
    const jsm = await jetstreamManager(nc);
    for (const b of [lastSeenBucket, announceBucket]) await jsm.streams.delete(`KV_${b}`).catch(() => false);
    await createNatsLastSeenStore(nc, { replication: { replicas: 1 } });
    await createNatsAnnounceBoard(nc, { replication: { replicas: 1 } });
    for (const b of [lastSeenBucket, announceBucket]) expect((await jsm.streams.info(`KV_${b}`)).config.num_replicas).toBe(1);
  });

  it("refuses 3 replicas on a NATS server outside a cluster, naming the bucket", async () => {
    const started = createNatsLastSeenStore(nc, { replication: { replicas: 3 } });
    await expect(started).rejects.toThrow(JetStreamSetupError);
    await expect(started).rejects.toThrow(/^KV bucket messenger_last_seen: 3 JetStream replicas asked, but the NATS server .* is not part of a cluster/);
    await expect(createNatsAnnounceBoard(nc, { replication: { replicas: 3 } })).rejects.toThrow(/^KV bucket messenger_presence_announce: 3 JetStream replicas asked/);
  });
});
