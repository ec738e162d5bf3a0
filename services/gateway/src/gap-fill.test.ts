import { create } from "@bufbuild/protobuf";
import { MessageSchema, type Message } from "@messenger/proto/chat/v1/types";
import { describe, expect, it } from "vitest";
import { fillGapPage, type ReadWindow } from "./gap-fill.js";
import { Session, type OutboundFrame } from "./session.js";

const msg = (seq: number): Message => create(MessageSchema, { conversationId: "c1", seq: BigInt(seq), id: `m${seq}` });

describe("fillGapPage", () => {
  it("fills a gap longer than one page page by page, without skipping anything, then releases what waited", async () => {
    // The store holds 1..30 but the user may not see 11..14.
    const visible = Array.from({ length: 30 }, (_, i) => i + 1).filter((s) => s < 11 || s > 14);
    const read: ReadWindow = async (r) => visible.filter((s) => s > r.afterSeq && s < r.beforeSeq).slice(0, r.limit).map(msg);
    const asks: [bigint, bigint][] = [];
    const session = new Session("s", "u", "d", 1000, () => undefined, { fill: (_s, _c, a, b) => void asks.push([a, b]) });
    session.feeds.settle("c1", [], 0n);
    session.finishSync();
    session.deliver({ frame: { case: "message", value: msg(31) } });
    expect(asks).toEqual([[0n, 31n]]);
    for (let page = 0; asks.length > 0; page++) {
      const [after, before] = asks.shift()!;
      await fillGapPage(read, session, "c1", after, before, 8);
      session.feeds.fillEnded("c1");
      expect(page).toBeLessThan(10);
    }
    const out: number[] = [];
    session.end();
    for await (const f of session.frames() as AsyncGenerator<OutboundFrame>) if (f.frame?.case === "message") out.push(Number(f.frame.value.seq));
    expect(out).toEqual([...visible, 31]);
  });
});
