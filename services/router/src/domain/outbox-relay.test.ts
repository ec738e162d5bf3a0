import { createMemoryQueue, createMemorySessionRegistry, offlineNotificationCodec, type SessionRecord } from "@messenger/bus";
import { createLogger } from "@messenger/logging";
import type { OfflineNotification } from "@messenger/proto/bus/v1/events";
import { eventually } from "@messenger/testing";
import { describe, expect, it } from "vitest";
import { pushCandidateQueue } from "../push-queue.js";
import type { MemberRange } from "./member-ranges.js";
import { MembershipCache } from "./membership-cache.js";
import { OutboxAcks } from "./outbox-acks.js";
import { OutboxRelay, type OutboxRelaySettings } from "./outbox-relay.js";
import type { OutboxEntry, OutboxKey, PushOutbox, QueuePushCandidate } from "./ports.js";
import { PushNotifier } from "./push-notifier.js";

const log = createLogger("router-test", "silent");
const open = (userId: string, fromSeq = 1): MemberRange => ({ userId, fromSeq, toSeq: 0 });
const settings: OutboxRelaySettings = { intervalMs: 60_000, graceMs: 5_000, leaseMs: 30_000, batchSize: 100, largeGroupThreshold: 256 };

/** The store's outbox as the port promises it: claims lease, acks delete; `failAcks` loses the next acks. */
function memoryOutbox() {
  const entries = new Map<string, OutboxEntry & { claimedUntil: number }>();
  const key = (k: OutboxKey) => `${k.conversationId}/${k.seq}`;
  let now = 0;
  let failAcks = 0;
  const outbox: PushOutbox = {
    async claim(olderThanMs, leaseMs, limit) {
      const due = [...entries.values()].filter((e) => e.sentAtMs < olderThanMs && e.claimedUntil <= now).sort((a, b) => a.sentAtMs - b.sentAtMs).slice(0, limit);
      for (const e of due) e.claimedUntil = now + leaseMs;
      const oldest = Math.min(...[...entries.values()].map((e) => e.sentAtMs));
      return { entries: due.map(({ claimedUntil: _, ...e }) => e), oldestSentAtMs: Number.isFinite(oldest) ? oldest : 0 };
    },
    async ack(keys) {
      if (failAcks > 0) {
        failAcks--;
        throw new Error("store unavailable");
      }
      for (const k of keys) entries.delete(key(k));
    },
  };
  return {
    outbox,
    add(e: OutboxEntry) {
      entries.set(key(e), { ...e, claimedUntil: 0 });
    },
    keys: () => [...entries.keys()],
    setNow(t: number) {
      now = t;
    },
    loseNextAck() {
      failAcks++;
    },
  };
}

async function setup(opts: { ranges: MemberRange[]; sessions?: SessionRecord[]; queue?: QueuePushCandidate; memberCount?: number }) {
  const store = memoryOutbox();
  const registry = createMemorySessionRegistry(60_000);
  for (const s of opts.sessions ?? []) await registry.put(s);
  const memoryQueue = createMemoryQueue();
  const got: OfflineNotification[] = [];
  await memoryQueue.consume("push-worker", async (d) => void got.push(offlineNotificationCodec.decode(d)));
  const pushes = new PushNotifier({ queue: opts.queue ?? pushCandidateQueue(memoryQueue), acks: new OutboxAcks(store.outbox), log }, { largeGroupWindowMs: 10 });
  const memberships = new MembershipCache({
    memberRanges: async () => ({ version: 1, unchanged: false, memberCount: opts.memberCount ?? opts.ranges.length, ranges: opts.ranges, blocked: false }),
  });
  let clock = 100_000;
  const relayed: number[] = [];
  const backlog: number[] = [];
  const relay = new OutboxRelay(
    { outbox: store.outbox, memberships, sessions: registry, pushes, log, now: () => clock, events: { relayed: (n) => relayed.push(n), backlog: (ms) => backlog.push(ms) } },
    settings,
  );
  const at = (t: number) => {
    clock = t;
    store.setNow(t);
  };
  at(clock);
  return { store, got, relay, at, relayed, backlog, pushes, memoryQueue };
}

const entry = (seq: number, sentAtMs: number, senderUserId = "alice"): OutboxEntry => ({ conversationId: "c1", seq: BigInt(seq), messageId: `m${seq}`, senderUserId, sentAtMs });

describe("OutboxRelay", () => {
  it("queues a stale entry's candidates once, with the live devices, and acknowledges it; a young entry is left to its router", async () => {
    const { store, got, relay, at, relayed, backlog } = await setup({
      ranges: [open("alice"), open("bob"), open("carol")],
      sessions: [{ sessionId: "s1", userId: "bob", deviceId: "laptop", gatewayId: "gw-1" }],
    });
    store.add(entry(1, 90_000));
    store.add(entry(2, 98_000));
    at(100_000);
    expect(await relay.runOnce()).toEqual({ claimed: 1, relayed: 1 });
    expect(backlog).toEqual([10_000]);
    await eventually(() => got.length === 2, "both recipients' candidates");
    expect(got.map((n) => [n.userId, n.messageId, n.liveDeviceIds]).sort()).toEqual([
      ["bob", "m1", ["laptop"]],
      ["carol", "m1", []],
    ]);
    expect(store.keys()).toEqual(["c1/2"]);
    // Once past the grace the second one goes too, and the first never again.
    at(104_000);
    expect(await relay.runOnce()).toEqual({ claimed: 1, relayed: 1 });
    expect(relayed).toEqual([1, 1]);
    await eventually(() => got.length === 4, "the second message's candidates");
    expect(got.filter((n) => n.messageId === "m1")).toHaveLength(2);
    expect(store.keys()).toEqual([]);
    expect(await relay.runOnce()).toEqual({ claimed: 0, relayed: 0 });
    expect(backlog.at(-1)).toBe(0);
  });

  it("leaves an entry whose candidates the queue refused, and queues it after its lease ran out", async () => {
    let queueUp = false;
    const queued: string[] = [];
    const { store, relay, at } = await setup({
      ranges: [open("alice"), open("bob")],
      queue: async (c) => {
        if (!queueUp) throw new Error("NATS is down");
        queued.push(`${c.userId}:${c.messageId}`);
      },
    });
    store.add(entry(1, 50_000));
    at(100_000);
    expect(await relay.runOnce()).toEqual({ claimed: 1, relayed: 0 });
    expect(store.keys()).toEqual(["c1/1"]);
    queueUp = true;
    // Still leased: another pass (or another router) does not take it meanwhile.
    at(100_000 + settings.leaseMs - 1);
    expect(await relay.runOnce()).toEqual({ claimed: 0, relayed: 0 });
    at(100_000 + settings.leaseMs);
    expect(await relay.runOnce()).toEqual({ claimed: 1, relayed: 1 });
    expect(queued).toEqual(["bob:m1"]);
    expect(store.keys()).toEqual([]);
  });

  it("after a lost ack relays the entry again, and the queue's dedup id keeps the push worker's queue at one candidate per message and user", async () => {
    const { store, got, relay, at, memoryQueue } = await setup({ ranges: [open("alice"), open("bob")] });
    store.add(entry(1, 50_000));
    store.loseNextAck();
    at(100_000);
    expect(await relay.runOnce()).toEqual({ claimed: 1, relayed: 0 });
    expect(store.keys()).toEqual(["c1/1"]);
    at(100_000 + settings.leaseMs);
    expect(await relay.runOnce()).toEqual({ claimed: 1, relayed: 1 });
    expect(store.keys()).toEqual([]);
    // The memory queue hands over in publish order: a second copy would come before this
    // marker, published after both passes.
    await pushCandidateQueue(memoryQueue)({ userId: "x", conversationId: "c", messageId: "marker", seq: 1n, senderUserId: "y", liveDeviceIds: [], sentAtMs: 0 });
    await eventually(() => got.some((n) => n.messageId === "marker"), "the marker");
    expect(got.map((n) => `${n.userId}:${n.messageId}`)).toEqual(["bob:m1", "x:marker"]);
  });

  it("coalesces a large group's stale entries into one candidate per member with the newest message, and acknowledges them all", async () => {
    const { store, got, relay, at } = await setup({ ranges: [open("alice"), open("bob"), open("carol")], memberCount: 1_000 });
    store.add(entry(1, 50_000, "alice"));
    store.add(entry(2, 50_001, "bob"));
    at(100_000);
    expect(await relay.runOnce()).toEqual({ claimed: 2, relayed: 2 });
    await eventually(() => got.length === 2, "one candidate per member but the newest message's author");
    expect(got.map((n) => `${n.userId}:${n.messageId}`).sort()).toEqual(["alice:m2", "carol:m2"]);
    expect(store.keys()).toEqual([]);
  });
});
