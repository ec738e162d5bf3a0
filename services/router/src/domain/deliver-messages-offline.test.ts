import { create } from "@bufbuild/protobuf";
import type { SessionRecord } from "@messenger/bus";
import { createLogger } from "@messenger/logging";
import { MessageSchema, type Message } from "@messenger/proto/chat/v1/types";
import { describe, expect, it } from "vitest";
import { MessageDelivery } from "./deliver-messages.js";
import type { MemberRange } from "./member-ranges.js";
import { MembershipCache } from "./membership-cache.js";
import type { Frame, NotifyOffline, SessionLookup } from "./ports.js";

const log = createLogger("router-test", "silent");
const session = (sessionId: string, userId: string, gatewayId: string): SessionRecord => ({ sessionId, userId, deviceId: sessionId, gatewayId });
const open = (userId: string, fromSeq = 1): MemberRange => ({ userId, fromSeq, toSeq: 0 });
const message = (seq: number, sender: string): Message =>
  create(MessageSchema, { id: `m${seq}`, conversationId: "g1", seq: BigInt(seq), senderUserId: sender, body: { case: "text", value: `hi ${seq}` } });

function delivery(ranges: readonly MemberRange[], sessions: SessionLookup, notifyOffline: NotifyOffline, maxBacklog = 1024) {
  const published: { gatewayId: string; userIds: string[]; frame: Frame }[] = [];
  const d = new MessageDelivery(
    {
      memberships: new MembershipCache({ memberRanges: async () => ({ version: 1, unchanged: false, memberCount: ranges.filter((r) => r.toSeq === 0).length, ranges, blocked: false }) }),
      sessions,
      publish: (gatewayId, userIds, frame) => void published.push({ gatewayId, userIds: [...userIds].sort(), frame }),
      notifyOffline,
      log,
    },
    { largeGroupThreshold: 256, largeGroupWindowMs: 1_000, maxBacklog },
  );
  return { d, published };
}

const fixed = (records: readonly SessionRecord[]): SessionLookup => ({ sessionsOf: async (userIds) => records.filter((s) => userIds.includes(s.userId)) });

describe("MessageDelivery: offline notifications in a small group", () => {
  it("notifies each recipient without a live session, once, but not the author, not a live member and not a member removed before the message", async () => {
    const notified: Parameters<NotifyOffline>[0][] = [];
    const ranges = [open("alice"), open("bob"), open("carol"), { userId: "dave", fromSeq: 1, toSeq: 2 }, open("erin", 6)];
    // The author sends from a client with no session on any gateway (no session to exclude).
    const { d, published } = delivery(ranges, fixed([session("bob-phone", "bob", "gw-1")]), async (n) => void notified.push(n));
    d.deliver([{ message: message(5, "alice"), memberVersion: 1, excludeSessionId: "" }]);
    await d.idle();
    expect(published.map((p) => [p.gatewayId, p.userIds])).toEqual([["gw-1", ["bob"]]]);
    expect(notified).toEqual([{ userId: "carol", conversationId: "g1", messageId: "m5", seq: 5n, senderUserId: "alice" }]);
    d.close();
  });

  it("keeps notifying and publishing when one notification cannot be queued", async () => {
    const notified: string[] = [];
    const ranges = ["alice", "bob", "carol", "dave"].map((u) => open(u));
    const { d, published } = delivery(ranges, fixed([session("alice-phone", "alice", "gw-1"), session("bob-phone", "bob", "gw-2")]), async (n) => {
      if (n.userId === "carol") throw new Error("queue unavailable");
      notified.push(`${n.userId}@${n.seq}`);
    });
    d.deliver([{ message: message(1, "alice"), memberVersion: 1, excludeSessionId: "alice-phone" }]);
    d.deliver([{ message: message(2, "alice"), memberVersion: 1, excludeSessionId: "alice-phone" }]);
    await d.idle();
    expect(notified).toEqual(["dave@1", "dave@2"]);
    expect(published.map((p) => [p.gatewayId, p.userIds])).toEqual([
      ["gw-2", ["bob"]],
      ["gw-2", ["bob"]],
    ]);
    d.close();
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
    const { d } = delivery([open("alice"), open("bob")], sessions, async () => undefined, 1);
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
    d.close();
  });
});
