import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { SessionRecord } from "@messenger/bus";
import { createLogger } from "@messenger/logging";
import { MessageSchema, type Message } from "@messenger/proto/chat/v1/types";
import { describe, expect, it } from "vitest";
import { MessageDelivery } from "./deliver-messages.js";
import type { MemberRange } from "./member-ranges.js";
import { MembershipCache } from "./membership-cache.js";
import { OutboxAcks } from "./outbox-acks.js";
import type { Frame, OutboxKey, PushCandidate, QueuePushCandidate, SessionLookup } from "./ports.js";
import { PushNotifier } from "./push-notifier.js";

const log = createLogger("router-test", "silent");
const session = (sessionId: string, userId: string, gatewayId: string, deviceId = sessionId): SessionRecord => ({ sessionId, userId, deviceId, gatewayId });
const open = (userId: string, fromSeq = 1): MemberRange => ({ userId, fromSeq, toSeq: 0 });
const message = (seq: number, sender: string): Message =>
  create(MessageSchema, { id: `m${seq}`, conversationId: "g1", seq: BigInt(seq), senderUserId: sender, body: { case: "text", value: `hi ${seq}` }, sentAt: timestampFromMs(1_000 + seq) });

function delivery(ranges: readonly MemberRange[], sessions: SessionLookup, queue: QueuePushCandidate, maxBacklog = 1024) {
  const published: { gatewayId: string; userIds: string[]; frame: Frame }[] = [];
  const acked: OutboxKey[] = [];
  const pushes = new PushNotifier({ queue, acks: new OutboxAcks({ ack: async (keys) => void acked.push(...keys) }), log }, { largeGroupWindowMs: 1_000 });
  const d = new MessageDelivery(
    {
      memberships: new MembershipCache({ memberRanges: async () => ({ version: 1, unchanged: false, memberCount: ranges.filter((r) => r.toSeq === 0).length, ranges, blocked: false }) }),
      sessions,
      publish: (gatewayId, userIds, frame) => void published.push({ gatewayId, userIds: [...userIds].sort(), frame }),
      pushes,
      log,
    },
    { largeGroupThreshold: 256, maxBacklog },
  );
  /** Waits for the queued candidates and the acks that follow them. */
  const settled = () => pushes.close();
  return { d, published, acked, settled };
}

const fixed = (records: readonly SessionRecord[]): SessionLookup => ({ sessionsOf: async (userIds) => records.filter((s) => userIds.includes(s.userId)) });
const byUser = (a: { userId: string }, b: { userId: string }) => a.userId.localeCompare(b.userId);

describe("MessageDelivery: push candidates, per device", () => {
  it("makes every recipient but the author a candidate, live or not, each with the devices that had a live session; not a member removed before the message", async () => {
    const queued: PushCandidate[] = [];
    const ranges = [open("alice"), open("bob"), open("carol"), { userId: "dave", fromSeq: 1, toSeq: 2 }, open("erin", 6)];
    const sessions = fixed([session("bob-laptop", "bob", "gw-1", "laptop"), session("alice-web", "alice", "gw-2", "web")]);
    const { d, published, settled } = delivery(ranges, sessions, async (n) => void queued.push(n));
    d.deliver([{ message: message(5, "alice"), memberVersion: 1, excludeSessionId: "alice-web" }]);
    await d.idle();
    await settled();
    expect(published.map((p) => [p.gatewayId, p.userIds])).toEqual([["gw-1", ["bob"]]]);
    // Bob's laptop is online, his phone is not: he is still a candidate, the laptop listed,
    // so the push worker can reach the phone.
    expect(queued.sort(byUser)).toEqual([
      { userId: "bob", conversationId: "g1", messageId: "m5", seq: 5n, senderUserId: "alice", liveDeviceIds: ["laptop"], sentAtMs: 1_005 },
      { userId: "carol", conversationId: "g1", messageId: "m5", seq: 5n, senderUserId: "alice", liveDeviceIds: [], sentAtMs: 1_005 },
    ]);
  });

  it("lists each live device of a user once, however many sessions it has", async () => {
    const queued: PushCandidate[] = [];
    const sessions = fixed([session("s1", "bob", "gw-1", "laptop"), session("s2", "bob", "gw-2", "laptop"), session("s3", "bob", "gw-2", "tablet")]);
    const { d, settled } = delivery([open("alice"), open("bob")], sessions, async (n) => void queued.push(n));
    d.deliver([{ message: message(1, "alice"), memberVersion: 1, excludeSessionId: "" }]);
    await d.idle();
    await settled();
    expect(queued.map((q) => [q.userId, [...q.liveDeviceIds].sort()])).toEqual([["bob", ["laptop", "tablet"]]]);
  });
});

describe("MessageDelivery: the push outbox entry", () => {
  it("is acknowledged only after every candidate of the message was accepted by the queue", async () => {
    const accept: (() => void)[] = [];
    const { d, acked, settled } = delivery([open("alice"), open("bob"), open("carol")], fixed([]), () => new Promise<void>((resolve) => accept.push(resolve)));
    d.deliver([{ message: message(7, "alice"), memberVersion: 1, excludeSessionId: "" }]);
    await d.idle();
    expect(accept).toHaveLength(2);
    accept[0]!();
    await new Promise((r) => setImmediate(r));
    expect(acked).toEqual([]);
    accept[1]!();
    await settled();
    expect(acked).toEqual([{ conversationId: "g1", seq: 7n }]);
  });

  it("is left in the outbox when one candidate cannot be queued, while the others and the live deliveries still go out", async () => {
    const queued: string[] = [];
    const ranges = ["alice", "bob", "carol", "dave"].map((u) => open(u));
    const { d, published, acked, settled } = delivery(ranges, fixed([session("alice-phone", "alice", "gw-1"), session("bob-phone", "bob", "gw-2")]), async (n) => {
      if (n.userId === "carol" && n.seq === 1n) throw new Error("queue unavailable");
      queued.push(`${n.userId}@${n.seq}`);
    });
    d.deliver([{ message: message(1, "alice"), memberVersion: 1, excludeSessionId: "alice-phone" }]);
    d.deliver([{ message: message(2, "alice"), memberVersion: 1, excludeSessionId: "alice-phone" }]);
    await d.idle();
    await settled();
    expect(queued.sort()).toEqual(["bob@1", "bob@2", "carol@2", "dave@1", "dave@2"]);
    expect(acked).toEqual([{ conversationId: "g1", seq: 2n }]);
    expect(published.map((p) => [p.gatewayId, p.userIds])).toEqual([
      ["gw-2", ["bob"]],
      ["gw-2", ["bob"]],
    ]);
  });
});

describe("MessageDelivery: back-pressure", () => {
  it("makes the send path wait while maxBacklog batches are unpublished, and lets it go once one is published", async () => {
    const events: string[] = [];
    let answer!: (records: SessionRecord[]) => void;
    let lookedUp!: () => void;
    const lookup = new Promise<void>((resolve) => (lookedUp = resolve));
    const sessions: SessionLookup = {
      sessionsOf: () =>
        new Promise((resolve) => {
          answer = resolve;
          lookedUp();
        }),
    };
    const { d, settled } = delivery([open("alice"), open("bob")], sessions, async () => undefined, 1);
    await d.roomFor();
    d.deliver([{ message: message(1, "alice"), memberVersion: 1, excludeSessionId: "" }]);
    expect(d.backlog).toBe(1);
    const room = d.roomFor().then(() => void events.push("room"));
    // The batch is mid-delivery (its session lookup unanswered); an already-open room would
    // have shown itself by now.
    await lookup;
    events.push("lookup answered");
    answer([session("bob-phone", "bob", "gw-1")]);
    await room;
    await d.idle();
    expect(events).toEqual(["lookup answered", "room"]);
    expect(d.backlog).toBe(0);
    await settled();
  });
});
