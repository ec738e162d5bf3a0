import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm, type KV } from "@nats-io/kv";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { startNatsServer, type NatsServer } from "@messenger/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { mirrorBucket, type Mirror } from "./kv-mirror.js";
import { readBucket, type BucketEntry } from "./kv-snapshot.js";

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

const text = (v: Uint8Array): string => new TextDecoder().decode(v);
const onError = (err: unknown, what: string): void => {
  throw new Error(what, { cause: err });
};
let bucketCount = 0;
const mirrors: Mirror<string>[] = [];
afterEach(() => {
  for (const m of mirrors.splice(0)) m.stop();
});
async function freshBucket(opts: { ttlMs?: number } = {}): Promise<{ name: string; kv: KV }> {
  const name = `mirror_test_${++bucketCount}`;
  return { name, kv: await new Kvm(jetstream(nc)).create(name, { history: 1, ...(opts.ttlMs ? { ttl: opts.ttlMs } : {}) }) };
}
const contents = (m: Mirror<string>): Record<string, string> => Object.fromEntries([...m.values].map(([k, v]) => [k, v.value]));

describe("readBucket: one ordered pass over a KV bucket", () => {
  it("brings every key's last entry in revision order, deletes included, and leaves no consumer behind", async () => {
    const { name, kv } = await freshBucket();
    await kv.put("a", "a1");
    await kv.put("b", "b1");
    await kv.put("a", "a2");
    await kv.delete("b");
    const last = await kv.put("c", "c1");
    const seen: BucketEntry[] = [];
    await readBucket(nc, name, last, (e) => seen.push(e));
    expect(seen.map((e) => [e.key, e.operation, e.operation === "PUT" ? text(e.value) : ""])).toEqual([
      ["a", "PUT", "a2"],
      ["b", "DEL", ""],
      ["c", "PUT", "c1"],
    ]);
    expect(seen.map((e) => e.revision)).toEqual([3, 4, 5]);
    expect(await (await jetstreamManager(nc)).consumers.list(`KV_${name}`).next()).toEqual([]);
  });

  it("ends at once on an empty bucket", async () => {
    const { name } = await freshBucket();
    const seen: BucketEntry[] = [];
    await readBucket(nc, name, 0, (e) => seen.push(e));
    expect(seen).toEqual([]);
  });

  it("reads 10,000 keys in one pass, more than one pull holds", async () => {
    const { name, kv } = await freshBucket();
    const js = jetstream(nc);
    await Promise.all(Array.from({ length: 10_000 }, (_, i) => js.publish(`$KV.${name}.k${i}`, `v${i}`)));
    await kv.delete("k5");
    const keys = new Set<string>();
    let puts = 0;
    await readBucket(nc, name, (await kv.status()).streamInfo.state.last_seq, (e) => {
      keys.add(e.key);
      if (e.operation === "PUT") puts++;
    });
    expect(keys.size).toBe(10_000);
    expect(puts).toBe(9_999);
  });
});

describe("a KV mirror's start", () => {
  it("starts from every key's current value, without the keys deleted before it", async () => {
    const { name, kv } = await freshBucket();
    await kv.put("a", "a1");
    await kv.put("b", "b1");
    await kv.put("c", "c1");
    await kv.delete("b");
    await kv.put("c", "c2");
    const m = await mirrorBucket(kv, text, { snapshot: (upTo, onEntry) => readBucket(nc, name, upTo, onEntry), onError });
    mirrors.push(m);
    expect(contents(m)).toEqual({ a: "a1", c: "c2" });
  });

  it("does not bring back a key deleted while the snapshot was read", async () => {
    const { name, kv } = await freshBucket();
    await kv.put("a", "a1");
    await kv.put("b", "b1");
    const changes: string[] = [];
    let changed: () => void = () => {};
    const change = (expected: string): Promise<void> =>
      new Promise<void>((resolve) => {
        changed = () => {
          if (changes.includes(expected)) resolve();
        };
        changed();
      });
    const m = await mirrorBucket(kv, text, {
      // The pass reads "a" as it was, and hands it over only after the watch applied a newer
      // value and then its delete.
      snapshot: async (upTo, onEntry) => {
        const read: BucketEntry[] = [];
        await readBucket(nc, name, upTo, (e) => read.push(e));
        await kv.put("a", "a2");
        await change("->a2");
        await kv.delete("a");
        await change("a2>-");
        for (const e of read) onEntry(e);
      },
      onChange: (before, after) => {
        changes.push(`${before ?? "-"}>${after ?? "-"}`);
        changed();
      },
      onError,
    });
    mirrors.push(m);
    expect(contents(m)).toEqual({ b: "b1" });
    await m.catchUp(5_000);
    expect(contents(m)).toEqual({ b: "b1" });
  });

  it("keeps a value the snapshot read that is newer than the changes the watch is still bringing", async () => {
    const { name, kv } = await freshBucket();
    await kv.put("a", "a1");
    const changes: string[] = [];
    const m = await mirrorBucket(kv, text, {
      // Written after the watch started and before the pass: the watch brings both, 300 ms late.
      snapshot: async (upTo, onEntry) => {
        await kv.put("a", "a2");
        await kv.put("a", "a3");
        await readBucket(nc, name, upTo, onEntry);
      },
      delayMs: 300,
      onChange: (before, after) => changes.push(`${before ?? "-"}>${after ?? "-"}`),
      onError,
    });
    mirrors.push(m);
    expect(contents(m)).toEqual({ a: "a3" });
    await m.catchUp(5_000);
    expect(contents(m)).toEqual({ a: "a3" });
    expect(changes).toEqual(["->a3"]);
  });

  it("sees, once caught up, a change made while the snapshot was read", async () => {
    const { name, kv } = await freshBucket();
    await kv.put("a", "a1");
    const m = await mirrorBucket(kv, text, {
      snapshot: async (upTo, onEntry) => {
        await readBucket(nc, name, upTo, onEntry);
        await kv.put("b", "b1");
        await kv.delete("a");
      },
      delayMs: 300,
      onError,
    });
    mirrors.push(m);
    await m.catchUp(5_000);
    expect(contents(m)).toEqual({ b: "b1" });
  });

  it("tries its start again when the snapshot fails, as while the NATS cluster elects a new leader", async () => {
    const { name, kv } = await freshBucket();
    await kv.put("a", "a1");
    const told: string[] = [];
    let failures = 2;
    const m = await mirrorBucket(kv, text, {
      snapshot: async (upTo, onEntry) => {
        if (failures-- > 0) throw new Error("timeout");
        await readBucket(nc, name, upTo, onEntry);
      },
      onError: (_err, what) => told.push(what),
    });
    mirrors.push(m);
    expect(told).toEqual(["registry mirror not started; trying again", "registry mirror not started; trying again"]);
    expect(contents(m)).toEqual({ a: "a1" });
    await kv.put("b", "b1");
    await m.catchUp(5_000);
    expect(contents(m)).toEqual({ a: "a1", b: "b1" });
  });
});
