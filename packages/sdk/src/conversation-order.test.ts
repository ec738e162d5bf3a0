import { create } from "@bufbuild/protobuf";
import { MessageSchema } from "@messenger/proto/chat/v1/types";
import { describe, expect, it } from "vitest";
import { ConversationOrder } from "./conversation-order.js";

const msg = (seq: number) => create(MessageSchema, { conversationId: "c", seq: BigInt(seq), text: `m${seq}` });
const seqs = (ms: { seq: bigint }[]) => ms.map((m) => Number(m.seq));

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
