import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { startNatsServer, type NatsServer } from "@messenger/testing";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
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

describe("the in-process queue's dedup window", () => {
  it("keeps the most recent ids and forgets the oldest, so memory stays bounded and recent resends are still dropped", async () => {
    const q = createMemoryQueue({ dedupWindow: 3 });
    const got: string[] = [];
    await q.consume("g", async (data) => void got.push(new TextDecoder().decode(data)));
    const publish = (id: string): Promise<void> => q.publish("messenger.offline.x", new TextEncoder().encode(id), id);
    for (const id of ["a", "b", "c", "d"]) await publish(id);
    // "d" pushed "a" out of the window; "b", "c", "d" are still known.
    for (const id of ["d", "c", "b", "a"]) await publish(id);
    await vi.waitFor(() => expect(got).toEqual(["a", "b", "c", "d", "a"]));
    await q.close();
  });
});
