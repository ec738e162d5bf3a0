import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm, type KV } from "@nats-io/kv";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { startNatsServer, type NatsServer } from "@messenger/testing";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { oldDeleteMarkers, purgeDeleteMarkers, purgeOldDeletes } from "./kv-purge-deletes.js";
import { lostRace } from "./lost-race.js";

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

const bucket = "purge_test";
let kv: KV;
beforeEach(async () => {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.delete(`KV_${bucket}`).catch(() => false);
  kv = await new Kvm(jetstream(nc)).create(bucket, { history: 1 });
});
const messages = async (): Promise<number> => (await (await jetstreamManager(nc)).streams.info(`KV_${bucket}`)).state.messages;

describe("purging a KV bucket's old delete markers", () => {
  it("removes the markers of removed keys and keeps the live ones", async () => {
    for (let i = 0; i < 50; i++) {
      await kv.put(`gone-${i}`, new Uint8Array([1]));
      await kv.delete(`gone-${i}`);
    }
    await kv.put("live-a", new Uint8Array([2]));
    await kv.put("live-b", new Uint8Array([3]));
    await kv.purge("purged");
    expect(await messages()).toBe(53);

    expect(await purgeOldDeletes(nc, bucket, 0)).toBe(51);
    expect(await messages()).toBe(2);
    expect([...((await kv.get("live-a"))?.value ?? [])]).toEqual([2]);
    expect([...((await kv.get("live-b"))?.value ?? [])]).toEqual([3]);
    expect(await kv.get("gone-3")).toBeNull();
  });

  it("leaves markers younger than the threshold", async () => {
    await kv.put("k", new Uint8Array([1]));
    await kv.delete("k");
    expect(await purgeOldDeletes(nc, bucket, 60_000)).toBe(0);
    expect(await messages()).toBe(1);
  });

  it("is safe when several processes purge at once: each marker is removed once, nothing else", async () => {
    for (let i = 0; i < 200; i++) {
      await kv.put(`gone-${i}`, new Uint8Array([1]));
      await kv.delete(`gone-${i}`);
    }
    await kv.put("live", new Uint8Array([2]));
    const others = await Promise.all([connect({ servers: nats.url }), connect({ servers: nats.url })]);
    try {
      const purged = await Promise.all([nc, ...others].map((c) => purgeOldDeletes(c, bucket, 0)));
      expect(purged.reduce((a, b) => a + b, 0)).toBe(200);
      expect(await messages()).toBe(1);
      expect([...((await kv.get("live"))?.value ?? [])]).toEqual([2]);
    } finally {
      for (const c of others) await c.close();
    }
  });

  it("keeps a value put to the key after its marker was read", async () => {
    await kv.put("s1", new Uint8Array([1]));
    await kv.delete("s1");
    const markers = await oldDeleteMarkers(nc, bucket, 0);
    expect(markers.map((m) => m.subject)).toEqual([`$KV.${bucket}.s1`]);
    // The session registered again between the pass and its purge.
    await kv.put("s1", new Uint8Array([9]));
    expect(await purgeDeleteMarkers(nc, bucket, markers)).toBe(0);
    expect([...((await kv.get("s1"))?.value ?? [])]).toEqual([9]);
  });

  it("makes a conditional delete that names a purged revision fail as a lost race", async () => {
    const revision = await kv.put("s1", new Uint8Array([1]));
    await kv.delete("s1");
    await purgeOldDeletes(nc, bucket, 0);
    const err = await kv.delete("s1", { previousSeq: revision }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeDefined();
    expect(lostRace(err)).toBe(true);
  });
});
