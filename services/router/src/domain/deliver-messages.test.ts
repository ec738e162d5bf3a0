import { create } from "@bufbuild/protobuf";
import { createMemorySessionRegistry, type SessionRecord } from "@messenger/bus";
import { createLogger } from "@messenger/logging";
import { MessageSchema, type Message } from "@messenger/proto/chat/v1/types";
import { afterEach, describe, expect, it, vi } from "vitest";
import { MessageDelivery } from "./deliver-messages.js";
import type { MemberRange } from "./member-ranges.js";
import { MembershipCache, type MembershipSource } from "./membership-cache.js";
import { OutboxAcks } from "./outbox-acks.js";
import type { Frame, OutboxKey } from "./ports.js";
import { PushNotifier } from "./push-notifier.js";

const log = createLogger("router-test", "silent");
const windowMs = 30;

afterEach(() => {
  vi.useRealTimers();
});

function source(ranges: MemberRange[], version = 1, delayMs = 0): MembershipSource & { calls: number } {
  const s = {
    calls: 0,
    async memberRanges(_id: string, known: number) {
      s.calls++;
      if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
      const memberCount = new Set(ranges.filter((r) => r.toSeq === 0).map((r) => r.userId)).size;
      return known === version ? { version, unchanged: true, memberCount, ranges: [], blocked: false } : { version, unchanged: false, memberCount, ranges, blocked: false };
    },
  };
  return s;
}

const message = (seq: number, sender = "alice", conversationId = "g1"): Message =>
  create(MessageSchema, { id: `m${seq}`, conversationId, seq: BigInt(seq), senderUserId: sender, body: { case: "text", value: `hi ${seq}` } });

async function setup(ranges: MemberRange[], sessions: SessionRecord[], opts: { threshold?: number; delayMs?: number } = {}) {
  const registry = createMemorySessionRegistry(60_000);
  for (const s of sessions) await registry.put(s);
  const published: { gatewayId: string; userIds: readonly string[]; frame: Frame; exclude: string }[] = [];
  const offline: { userId: string; seq: bigint }[] = [];
  const acked: OutboxKey[] = [];
  const src = source(ranges, 1, opts.delayMs);
  const pushes = new PushNotifier(
    { queue: async (n) => void offline.push({ userId: n.userId, seq: n.seq }), acks: new OutboxAcks({ ack: async (keys) => void acked.push(...keys) }), log },
    { largeGroupWindowMs: windowMs },
  );
  const delivery = new MessageDelivery(
    {
      memberships: new MembershipCache(src),
      sessions: registry,
      publish: (gatewayId, userIds, frame, exclude) => published.push({ gatewayId, userIds, frame, exclude }),
      pushes,
      log,
    },
    { largeGroupThreshold: opts.threshold ?? 256, maxBacklog: 1024 },
  );
  return { delivery, published, offline, src, pushes, acked };
}

/** Lets the queue's promises (already resolved in these tests) run their continuations. */
const pushesSettled = () => new Promise((r) => setImmediate(r));

const session = (sessionId: string, userId: string, gatewayId: string): SessionRecord => ({ sessionId, userId, deviceId: "phone", gatewayId });
const open = (userId: string, fromSeq = 1): MemberRange => ({ userId, fromSeq, toSeq: 0 });

describe("MessageDelivery", () => {
  it("publishes one delivery per gateway holding members, never one per member, and not to the sending session", async () => {
    const members = ["alice", "bob", "carol", "dave", "erin"];
    const { delivery, published, offline } = await setup(members.map((u) => open(u)), [
      session("s-alice", "alice", "gw-1"),
      session("s-alice-laptop", "alice", "gw-2"),
      session("s-bob", "bob", "gw-1"),
      session("s-carol", "carol", "gw-1"),
      session("s-dave", "dave", "gw-2"),
    ]);
    delivery.deliver([{ message: message(1), memberVersion: 1, excludeSessionId: "s-alice" }]);
    await delivery.idle();
    expect(published.map((p) => [p.gatewayId, [...p.userIds].sort(), p.exclude]).sort()).toEqual([
      ["gw-1", ["bob", "carol"], "s-alice"],
      ["gw-2", ["alice", "dave"], "s-alice"],
    ]);
    // Push candidates: everyone but the author, live or not (the push worker decides per device).
    await pushesSettled();
    expect(offline.map((o) => o.userId).sort()).toEqual(["bob", "carol", "dave", "erin"]);
  });

  it("reaches exactly the members whose range covers the seq: a removed member gets their removal and nothing after", async () => {
    const ranges = [open("alice"), { userId: "bob", fromSeq: 1, toSeq: 5 }, open("carol", 8)];
    const { delivery, published } = await setup(ranges, [session("b", "bob", "gw-1"), session("c", "carol", "gw-1"), session("a", "alice", "gw-1")]);
    for (const seq of [5, 6, 8]) delivery.deliver([{ message: message(seq), memberVersion: 1, excludeSessionId: "" }]);
    await delivery.idle();
    const reached = published.map((p) => [Number((p.frame.frame as { value: Message }).value.seq), [...p.userIds].sort()]);
    expect(reached).toEqual([
      [5, ["alice", "bob"]],
      [6, ["alice"]],
      [8, ["alice", "carol"]],
    ]);
  });

  it("sends a large group's members a conversation_updated signal instead of the message", async () => {
    const { delivery, published } = await setup(["alice", "bob", "carol"].map((u) => open(u)), [session("b", "bob", "gw-1")], { threshold: 2 });
    delivery.deliver([{ message: message(3), memberVersion: 1, excludeSessionId: "" }]);
    await delivery.idle();
    expect(published).toHaveLength(1);
    expect(published[0]!.frame.frame).toEqual({ case: "conversationUpdated", value: { conversationId: "g1", lastSeq: 3n } });
  });

  it("coalesces a large group's push candidates: one per member per window, with the newest message, and acknowledges every outbox entry it covers", async () => {
    const { delivery, offline, pushes, acked } = await setup(["alice", "bob", "carol", "dave"].map((u) => open(u)), [session("a", "alice", "gw-1"), session("b", "bob", "gw-1")], { threshold: 2 });
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    for (const seq of [1, 2, 3]) delivery.deliver([{ message: message(seq), memberVersion: 1, excludeSessionId: "a" }]);
    // Every batch is committed: whatever was not sent yet is held for the window.
    await delivery.idle();
    vi.advanceTimersByTime(windowMs - 1);
    expect(offline).toEqual([]);
    vi.advanceTimersByTime(1);
    vi.useRealTimers();
    await pushes.close();
    expect(offline.sort((x, y) => x.userId.localeCompare(y.userId))).toEqual([
      { userId: "bob", seq: 3n },
      { userId: "carol", seq: 3n },
      { userId: "dave", seq: 3n },
    ]);
    expect(acked.map((k) => k.seq).sort()).toEqual([1n, 2n, 3n]);
  });

  it("publishes batches in the order they were stored even when an earlier batch's lookups are slower", async () => {
    const registry = createMemorySessionRegistry(60_000);
    await registry.put(session("b", "bob", "gw-1"));
    const slow = source([open("alice"), open("bob")], 1, 50);
    const published: bigint[] = [];
    const delivery = new MessageDelivery(
      {
        memberships: new MembershipCache({ memberRanges: (id, known) => (id === "slow" ? slow.memberRanges(id, known) : source([open("alice"), open("bob")]).memberRanges(id, known)) }),
        sessions: registry,
        publish: (_g, _u, frame) => published.push((frame.frame as { value: Message }).value.seq),
        pushes: new PushNotifier({ queue: async () => undefined, acks: new OutboxAcks({ ack: async () => undefined }), log }, { largeGroupWindowMs: 30 }),
        log,
      },
      { largeGroupThreshold: 256, maxBacklog: 1024 },
    );
    delivery.deliver([{ message: message(1, "alice", "slow"), memberVersion: 1, excludeSessionId: "" }]);
    delivery.deliver([{ message: message(2, "alice", "fast"), memberVersion: 1, excludeSessionId: "" }]);
    await delivery.idle();
    expect(published).toEqual([1n, 2n]);
  });
});

describe("MembershipCache", () => {
  it("serves a cached membership only when it is at least as new as the version asked for", async () => {
    const src = source([open("alice")], 3);
    const cache = new MembershipCache(src);
    await cache.atLeast("g1", 3);
    await cache.atLeast("g1", 2);
    await cache.atLeast("g1", 3);
    expect(src.calls).toBe(1);
    await expect(cache.atLeast("g1", 4)).rejects.toThrow(/older than version 4/);
  });
});

describe("MembershipCache reads that must see a change", () => {
  it("does not answer 'current' with a store read that started before it asked", async () => {
    let version = 1;
    let calls = 0;
    let release: (() => void) | undefined;
    const cache = new MembershipCache({
      async memberRanges() {
        calls++;
        const seen = version;
        if (calls === 1) await new Promise<void>((r) => (release = r));
        return { version: seen, unchanged: false, memberCount: 1, ranges: [open("alice")], blocked: false };
      },
    });
    const first = cache.current("g1");
    await new Promise((r) => setTimeout(r, 5));
    version = 2; // a membership change commits while the first read is under way
    const second = cache.current("g1");
    release!();
    expect((await first).version).toBe(1);
    expect((await second).version).toBe(2);
  });

  it("waits for a read at least as new as the version a message was stored under", async () => {
    let version = 1;
    const cache = new MembershipCache({
      async memberRanges() {
        const seen = version++;
        return { version: seen, unchanged: false, memberCount: 1, ranges: [open("alice")], blocked: false };
      },
    });
    await expect(cache.atLeast("g1", 3)).resolves.toMatchObject({ version: 3 });
  });
});
