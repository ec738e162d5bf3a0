import { create } from "@bufbuild/protobuf";
import { MessageSchema, type Message } from "@messenger/proto/chat/v1/types";
import { describe, expect, it } from "vitest";
import { ConversationFeeds } from "./conversation-feeds.js";

const msg = (seq: number, conversationId = "c1"): Message => create(MessageSchema, { conversationId, seq: BigInt(seq), id: `m${seq}` });

function feeds() {
  const emitted: number[] = [];
  const fills: [string, number, number][] = [];
  const f = new ConversationFeeds({
    emit: (m) => emitted.push(Number(m.seq)),
    requestFill: (c, a, b) => fills.push([c, Number(a), Number(b)]),
  });
  return { f, emitted, fills };
}

describe("ConversationFeeds", () => {
  it("emits in seq order whatever order live copies arrive in, each once", () => {
    const { f, emitted, fills } = feeds();
    f.settle("c1", [], 2n);
    f.startFilling();
    f.live(msg(5));
    f.live(msg(4));
    f.live(msg(3));
    f.live(msg(4));
    f.live(msg(2));
    expect(emitted).toEqual([3, 4, 5]);
    expect(fills).toEqual([["c1", 2, 5]]);
  });

  it("asks the store for a gap that does not close, and treats what the store does not return as not visible", () => {
    const { f, emitted, fills } = feeds();
    f.settle("c1", [msg(1)], 1n);
    f.startFilling();
    f.live(msg(9));
    expect(fills).toEqual([["c1", 1, 9]]);
    // The user was not a member over 2..6: the store returns 7 and 8 only.
    f.settle("c1", [msg(7), msg(8)], 8n);
    f.fillEnded("c1");
    expect(emitted).toEqual([1, 7, 8, 9]);
    f.live(msg(10));
    expect(emitted).toEqual([1, 7, 8, 9, 10]);
    expect(fills).toHaveLength(1);
  });

  it("counts a send_result as delivered: the sender's session never gets its own message as a message frame", () => {
    const { f, emitted } = feeds();
    f.settle("c1", [], 3n);
    f.startFilling();
    f.live(msg(5));
    f.own(msg(4));
    f.live(msg(4));
    f.live(msg(6));
    expect(emitted).toEqual([5, 6]);
  });

  it("holds fills until the replay is over, then fills a conversation first seen live", () => {
    const { f, emitted, fills } = feeds();
    f.own(msg(3, "new"));
    expect(fills).toEqual([]);
    f.startFilling();
    expect(fills).toEqual([["new", 0, 3]]);
    f.settle("new", [msg(1, "new"), msg(2, "new")], 2n);
    f.fillEnded("new");
    expect(emitted).toEqual([1, 2]);
    expect(f.deliveredOf("new")).toBe(3n);
  });

  it("emits a conversation's first message with no fill", () => {
    const { f, emitted, fills } = feeds();
    f.startFilling();
    f.live(msg(1, "fresh"));
    f.live(msg(2, "fresh"));
    expect(emitted).toEqual([1, 2]);
    expect(fills).toEqual([]);
  });

  it("asks again when a fill ends with the gap still open (the store was unavailable)", () => {
    const { f, fills } = feeds();
    f.settle("c1", [], 1n);
    f.startFilling();
    f.live(msg(4));
    f.fillEnded("c1");
    expect(fills).toEqual([
      ["c1", 1, 4],
      ["c1", 1, 4],
    ]);
    expect(f.backlog).toBe(1);
  });
});
