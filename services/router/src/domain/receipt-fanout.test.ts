import { create } from "@bufbuild/protobuf";
import type { SessionRecord } from "@messenger/bus";
import { createLogger } from "@messenger/logging";
import { MemberReceiptSchema, ReceiptSummarySchema, type ReceiptSummary } from "@messenger/proto/chat/v1/types";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { MemberRange } from "./member-ranges.js";
import { MembershipCache } from "./membership-cache.js";
import type { Frame } from "./ports.js";
import { ReceiptFanout, type ReceiptMove } from "./receipt-fanout.js";

const log = createLogger("router-test", "silent");
const windowMs = 1_000;

interface Publish {
  readonly gatewayId: string;
  readonly userIds: readonly string[];
  readonly frame: Frame;
  readonly exclude: string;
}

const session = (sessionId: string, userId: string, gatewayId: string): SessionRecord => ({ sessionId, userId, deviceId: sessionId, gatewayId });
const open = (userId: string): MemberRange => ({ userId, fromSeq: 1, toSeq: 0 });

/** A fanout over fixed memberships and sessions; `nth(n)` resolves once n publishes happened. */
function setup(conversations: Record<string, readonly MemberRange[]>, sessions: readonly SessionRecord[], largeGroupThreshold = 3) {
  const published: Publish[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const fanout = new ReceiptFanout(
    {
      memberships: new MembershipCache({
        memberRanges: async (id) => {
          const ranges = conversations[id] ?? [];
          return { version: 1, unchanged: false, memberCount: ranges.filter((r) => r.toSeq === 0).length, ranges, blocked: false };
        },
      }),
      sessions: { sessionsOf: async (userIds) => sessions.filter((s) => userIds.includes(s.userId)) },
      publish: (gatewayId, userIds, frame, exclude) => {
        published.push({ gatewayId, userIds: [...userIds].sort(), frame, exclude });
        for (const w of waiters.filter((w) => published.length >= w.n)) w.resolve();
      },
      log,
    },
    { largeGroupThreshold, largeGroupReceiptWindowMs: windowMs },
  );
  const nth = (n: number) => (published.length >= n ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ n, resolve })));
  return { fanout, published, nth };
}

const summary = (memberCount: number, deliveredAllSeq: number, readAllSeq: number): ReceiptSummary =>
  create(ReceiptSummarySchema, { memberCount, deliveredAllSeq: BigInt(deliveredAllSeq), readAllSeq: BigInt(readAllSeq) });

function move(conversationId: string, userId: string, readSeq: number, opts: { summary?: ReceiptSummary; excludeSessionId?: string } = {}): ReceiptMove {
  return {
    conversationId,
    receipt: create(MemberReceiptSchema, { userId, deliveredSeq: BigInt(readSeq), readSeq: BigInt(readSeq) }),
    receiptsVersion: BigInt(readSeq),
    summary: opts.summary,
    memberVersion: 1,
    excludeSessionId: opts.excludeSessionId ?? "",
  };
}

const big = ["alice", "bob", "carol", "dave", "erin"].map(open);
const dm = ["alice", "bob"].map(open);
const sessions = [
  session("alice-phone", "alice", "gw-1"),
  session("alice-laptop", "alice", "gw-2"),
  session("bob-phone", "bob", "gw-1"),
  session("carol-phone", "carol", "gw-2"),
  session("dave-phone", "dave", "gw-2"),
];

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe("ReceiptFanout", () => {
  it("pushes a small group's receipt move at once, once per gateway, with its summary, and not to the session that moved it", async () => {
    const { fanout, published, nth } = setup({ dm }, sessions);
    fanout.moved([move("dm", "alice", 7, { summary: summary(2, 7, 7), excludeSessionId: "alice-phone" })]);
    await nth(2);
    expect(published.map((p) => [p.gatewayId, p.userIds, p.exclude]).sort()).toEqual([
      ["gw-1", ["bob"], "alice-phone"],
      ["gw-2", ["alice"], "alice-phone"],
    ]);
    expect(published[0]!.frame.frame).toMatchObject({
      case: "receipt",
      value: { conversationId: "dm", receipt: { userId: "alice", readSeq: 7n }, receiptsVersion: 7n, summary: { deliveredAllSeq: 7n, readAllSeq: 7n } },
    });
    fanout.close();
  });

  it("aggregates a large group's moves: only the newest summary, once per window, to every current member's gateway", async () => {
    const { fanout, published, nth } = setup({ big, dm }, sessions);
    // Each batch carries a small-group move as a marker: it is published in the same commit
    // that queues the large group's summary, so seeing it means the summary is queued.
    fanout.moved([move("big", "bob", 3, { summary: summary(5, 3, 1) }), move("dm", "bob", 1, { excludeSessionId: "bob-phone" })]);
    fanout.moved([move("big", "carol", 4, { summary: summary(5, 4, 2) }), move("dm", "bob", 2, { excludeSessionId: "bob-phone" })]);
    // Each marker reaches alice's two gateways.
    await nth(4);
    expect(published.every((p) => p.frame.frame?.case === "receipt" && p.frame.frame.value.conversationId === "dm")).toBe(true);
    expect(published).toHaveLength(4);

    await vi.advanceTimersByTimeAsync(windowMs);
    await nth(6);
    const summaries = published.slice(4);
    expect(summaries.map((p) => [p.gatewayId, p.userIds, p.exclude]).sort()).toEqual([
      ["gw-1", ["alice", "bob"], ""],
      ["gw-2", ["alice", "carol", "dave"], ""],
    ]);
    for (const p of summaries) {
      expect(p.frame.frame).toMatchObject({ case: "receiptSummary", value: { conversationId: "big", receiptsVersion: 4n, summary: { deliveredAllSeq: 4n, readAllSeq: 2n } } });
    }
    fanout.close();
  });

  it("does not push a large group's summary again when it did not change", async () => {
    const other = ["bob", "carol", "dave", "erin"].map(open);
    const { fanout, published, nth } = setup({ big, other, dm }, sessions);
    const marker = () => move("dm", "bob", 1, { excludeSessionId: "bob-phone" });
    fanout.moved([move("big", "bob", 3, { summary: summary(5, 3, 1) }), marker()]);
    await nth(2);
    await vi.advanceTimersByTimeAsync(windowMs);
    await nth(4);
    expect(published.slice(2).map((p) => p.frame.frame?.case)).toEqual(["receiptSummary", "receiptSummary"]);

    // The same summary again, then a changed one of another group in the same window: both are
    // flushed together, in that order, so once the second is out the first would have been too.
    fanout.moved([move("big", "carol", 3, { summary: summary(5, 3, 1) }), move("other", "dave", 5, { summary: summary(4, 5, 5) }), marker()]);
    await nth(6);
    await vi.advanceTimersByTimeAsync(windowMs);
    await nth(8);
    const flushed = published.slice(6).map((p) => (p.frame.frame?.case === "receiptSummary" ? p.frame.frame.value.conversationId : p.frame.frame?.case));
    expect(flushed).toEqual(["other", "other"]);
    fanout.close();
  });
});
