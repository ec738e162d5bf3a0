import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { eventually, startNatsServer, within, type NatsServer } from "@messenger/testing";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { durableQueueContract } from "./durable-queue.contract.js";
import { createMemoryQueue, QueueUnavailableError } from "./durable-queue.js";
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

describe("the JetStream queue while NATS is down", () => {
  it("rejects a publish with QueueUnavailableError instead of hanging, and stores again once NATS is back", async () => {
    const server = await startNatsServer();
    const conn = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    try {
      const q = await createJetStreamQueue(conn, { name: "TEST_DOWN", subjects: ["messenger.down.>"], maxAgeMs: 60_000 }, { retryMs: 50, publishTimeoutMs: 1_000 });
      await q.publish("messenger.down.u1", new TextEncoder().encode("before"), "before");
      await server.kill();
      // Whether the client noticed the disconnect yet (rejected at once) or not (rejected
      // after publishTimeoutMs), the publish ends, well before a buffered one would.
      const err = await within(q.publish("messenger.down.u1", new TextEncoder().encode("during"), "during").then(() => undefined, (e: unknown) => e), 3_000, "a publish while NATS is down ends");
      expect(err).toBeInstanceOf(QueueUnavailableError);
      // Once the client knows, it does not wait at all.
      await eventually(async () => {
        const started = Date.now();
        const e = await q.publish("messenger.down.u1", new TextEncoder().encode("known"), "known").then(() => undefined, (x: unknown) => x);
        return e instanceof QueueUnavailableError && Date.now() - started < 100;
      }, "an immediate rejection once the client saw the disconnect");
      await server.restart();
      await eventually(() => q.publish("messenger.down.u1", new TextEncoder().encode("after"), "after").then(() => true, () => false), "a publish succeeds after the restart", 15_000);
      const got: string[] = [];
      await q.consume("g", async (d) => void got.push(new TextDecoder().decode(d)));
      await eventually(() => got.includes("before") && got.includes("after"), "what was stored before and after the outage");
      await q.close();
    } finally {
      await conn.close();
      await server.stop();
    }
  }, 30_000);
});
