import { JetStreamSetupError } from "@messenger/bus";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { startNatsServer, type NatsServer } from "@messenger/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNatsSentMarks, sentMarksBucket } from "./nats-sent-marks.js";

let server: NatsServer;
let a: NatsConnection;
let b: NatsConnection;
beforeAll(async () => {
  server = await startNatsServer();
  [a, b] = await Promise.all([connect({ servers: server.url }), connect({ servers: server.url })]);
});
afterAll(async () => {
  await Promise.all([a.close(), b.close()]);
  await server.stop();
});

describe("sent marks in NATS KV, shared by two worker replicas", () => {
  it("lets one replica claim a key at a time, keeps a confirmed one, frees a released one, and takes over a lapsed claim", async () => {
    let t = 1_000_000;
    const one = await createNatsSentMarks(a, { keepMs: 60_000, now: () => t });
    const two = await createNatsSentMarks(b, { keepMs: 60_000, now: () => t });
    const claims = await Promise.all([one.claim("phone:message:m1", 5_000), two.claim("phone:message:m1", 5_000)]);
    expect(claims.filter(Boolean)).toHaveLength(1);
    await one.confirm("phone:message:m1");
    expect(await two.claim("phone:message:m1", 5_000)).toBe(false);

    expect(await one.claim("laptop:message:m1", 5_000)).toBe(true);
    await one.release("laptop:message:m1");
    expect(await two.claim("laptop:message:m1", 5_000)).toBe(true);

    // A replica that died holding a claim: once it lapses, another takes it, once.
    expect(await one.claim("tablet:message:m1", 5_000)).toBe(true);
    expect(await two.claim("tablet:message:m1", 5_000)).toBe(false);
    t += 5_001;
    const takeovers = await Promise.all([one.claim("tablet:message:m1", 5_000), two.claim("tablet:message:m1", 5_000)]);
    expect(takeovers.filter(Boolean)).toHaveLength(1);
  });
});

describe("the sent marks bucket's JetStream replicas", () => {
  it("is created with the replicas asked for", async () => {
    const jsm = await jetstreamManager(a);
    await jsm.streams.delete(`KV_${sentMarksBucket}`).catch(() => false);
    await createNatsSentMarks(a, { keepMs: 60_000, replication: { replicas: 1 } });
    expect((await jsm.streams.info(`KV_${sentMarksBucket}`)).config.num_replicas).toBe(1);
  });

  it("refuses 3 replicas on a NATS server outside a cluster, naming the bucket", async () => {
    const started = createNatsSentMarks(a, { keepMs: 60_000, replication: { replicas: 3 } });
    await expect(started).rejects.toThrow(JetStreamSetupError);
    await expect(started).rejects.toThrow(/^KV bucket messenger_push_sent: 3 JetStream replicas asked, but the NATS server .* is not part of a cluster/);
  });
});
