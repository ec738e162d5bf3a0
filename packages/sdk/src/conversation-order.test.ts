import { create } from "@bufbuild/protobuf";
import { MessageSchema } from "@messenger/proto/chat/v1/types";
import { describe, expect, it } from "vitest";
import { ConversationOrder, type HistoryPage } from "./conversation-order.js";

const msg = (seq: number) => create(MessageSchema, { conversationId: "c", seq: BigInt(seq), body: { case: "text", value: `m${seq}` } });
const seqs = (ms: { seq: bigint }[]) => ms.map((m) => Number(m.seq));
const page = (ss: number[], more: { hasMore?: boolean; lastSeq?: number; minSeq?: number } = {}): HistoryPage => ({
  messages: ss.map(msg),
  hasMore: more.hasMore ?? false,
  lastSeq: BigInt(more.lastSeq ?? ss.at(-1) ?? 0),
  minSeq: BigInt(more.minSeq ?? 0),
});

describe("ConversationOrder", () => {
  it("emits in seq order, holding back messages that arrive ahead of a gap", () => {
    const o = new ConversationOrder(0n);
    expect(seqs(o.accept(msg(1)))).toEqual([1]);
    expect(seqs(o.accept(msg(3)))).toEqual([]);
    expect(o.gap()).toEqual({ from: 2n, to: 2n });
    expect(seqs(o.accept(msg(2)))).toEqual([2, 3]);
    expect(o.gap()).toBeUndefined();
  });

  it("drops duplicates and anything at or below the cursor", () => {
    const o = new ConversationOrder(5n);
    expect(o.accept(msg(5))).toEqual([]);
    expect(seqs(o.accept(msg(6)))).toEqual([6]);
    expect(o.accept(msg(6))).toEqual([]);
  });

  it("takes the first seen message as the baseline when no cursor is known", () => {
    const o = new ConversationOrder(undefined);
    expect(seqs(o.accept(msg(40)))).toEqual([40]);
    expect(o.cursor).toBe(40n);
  });

  it("skips ahead on reset and releases nothing below the new cursor", () => {
    const o = new ConversationOrder(1n);
    o.accept(msg(9));
    o.resetTo(10n);
    expect(o.gap()).toBeUndefined();
    expect(seqs(o.accept(msg(11)))).toEqual([11]);
  });
});

describe("ConversationOrder memory", () => {
  it("holds at most maxAhead messages ahead of a gap, and still asks for the ones it let go", () => {
    const o = new ConversationOrder(0n, 3);
    for (const seq of [9, 5, 7, 3, 8]) expect(o.accept(msg(seq))).toEqual([]);
    expect(o.held).toBe(3);
    expect(o.gap()).toEqual({ from: 1n, to: 2n });
    // The gap closes: what was held follows; what was let go (7, 8, 9) is asked for next.
    expect(seqs(o.acceptHistory(0n, page([1, 2], { lastSeq: 9 }), 2n))).toEqual([1, 2, 3]);
    expect(o.gap()).toEqual({ from: 4n, to: 4n });
    expect(seqs(o.acceptHistory(3n, page([4, 5, 6, 7, 8, 9]), 9n))).toEqual([4, 5, 6, 7, 8, 9]);
    expect(o.gap()).toBeUndefined();
    expect(o.held).toBe(0);
  });

  it("stays bounded however long a gap stands", () => {
    const o = new ConversationOrder(0n, 100);
    for (let seq = 2; seq < 20_000; seq++) o.accept(msg(seq));
    expect(o.held).toBe(100);
    expect(o.gap()).toEqual({ from: 1n, to: 1n });
    expect(seqs(o.accept(msg(1)))).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(o.gap()).toEqual({ from: 101n, to: 19_999n });
  });
});

describe("ConversationOrder with membership ranges and min_seq", () => {
  it("skips the seqs between the anchor and the first message history returns (a re-added member)", () => {
    // Removed at 5, re-added at 9: 6..8 were never visible to this member.
    const o = new ConversationOrder(5n);
    expect(o.accept(msg(10))).toEqual([]);
    expect(o.gap()).toEqual({ from: 6n, to: 9n });
    expect(seqs(o.acceptHistory(5n, page([9, 10], { lastSeq: 10 }), 9n))).toEqual([9, 10]);
    expect(o.cursor).toBe(10n);
    expect(o.gap()).toBeUndefined();
  });

  it("skips holes between the messages of a page, which history left out as invisible", () => {
    const o = new ConversationOrder(2n);
    o.accept(msg(12));
    expect(seqs(o.acceptHistory(2n, page([3, 7, 8], { hasMore: true, lastSeq: 12 }), 11n))).toEqual([3, 7, 8]);
    expect(o.cursor).toBe(8n);
    // The rest is still open: the page had more to give.
    expect(o.gap()).toEqual({ from: 9n, to: 11n });
  });

  it("closes the rest of a gap when a last page returns nothing and last_seq reaches it", () => {
    const o = new ConversationOrder(4n);
    o.accept(msg(9));
    expect(seqs(o.acceptHistory(4n, page([], { lastSeq: 9 }), 8n))).toEqual([9]);
    expect(o.cursor).toBe(9n);
    expect(o.gap()).toBeUndefined();
  });

  it("keeps the gap when history lags behind the live stream (last_seq short of the gap)", () => {
    const o = new ConversationOrder(4n);
    o.accept(msg(9));
    expect(o.acceptHistory(4n, page([], { lastSeq: 6 }), 8n)).toEqual([]);
    expect(o.gap()).toEqual({ from: 5n, to: 8n });
    // Nor does a page with has_more close anything past what it returned.
    expect(o.acceptHistory(4n, page([], { hasMore: true, lastSeq: 9 }), 8n)).toEqual([]);
    expect(o.gap()).toEqual({ from: 5n, to: 8n });
  });

  it("says nothing about seqs below a page whose anchor lies above the cursor", () => {
    const o = new ConversationOrder(2n);
    o.accept(msg(9));
    expect(o.acceptPage(5n, [msg(7)])).toEqual([]);
    expect(o.gap()).toEqual({ from: 3n, to: 6n });
  });

  it("never loses a held message inside a range declared invisible", () => {
    const o = new ConversationOrder(1n);
    o.accept(msg(4));
    o.accept(msg(8));
    expect(seqs(o.skipTo(6n))).toEqual([4]);
    expect(o.cursor).toBe(6n);
    expect(o.gap()).toEqual({ from: 7n, to: 7n });
  });

  it("treats seqs below min_seq as gone: moves the cursor up and never asks for them", () => {
    const o = new ConversationOrder(3n);
    o.accept(msg(21));
    expect(o.gap()).toEqual({ from: 4n, to: 20n });
    expect(seqs(o.setMinSeq(21n))).toEqual([21]);
    expect(o.gap()).toBeUndefined();
    expect(o.minSeq).toBe(21n);
    // A lower min_seq seen later does not move it back.
    o.setMinSeq(5n);
    expect(o.minSeq).toBe(21n);

    const p = new ConversationOrder(3n);
    p.accept(msg(30));
    expect(seqs(p.acceptHistory(3n, page([25], { hasMore: true, lastSeq: 30, minSeq: 20 }), 29n))).toEqual([25]);
    expect(p.gap()).toEqual({ from: 26n, to: 29n });
  });

  it("pulls a conversation from the start when no cursor is known", () => {
    const o = new ConversationOrder(undefined);
    expect(seqs(o.acceptHistory(0n, page([2, 3], { hasMore: true, lastSeq: 6 }), 6n))).toEqual([2, 3]);
    expect(seqs(o.acceptHistory(3n, page([6], { lastSeq: 6 }), 6n))).toEqual([6]);
    expect(o.cursor).toBe(6n);
    expect(o.has(4n)).toBe(true);
  });
});
