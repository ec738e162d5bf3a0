import { create } from "@bufbuild/protobuf";
import { MessageSchema, type Message } from "@messenger/proto/chat/v1/types";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Session, type OutboundFrame } from "./session.js";

const msg = (seq: number, conversationId = "c1"): Message => create(MessageSchema, { conversationId, seq: BigInt(seq), id: `m${seq}` });

function session(fills: [string, bigint, bigint][] = []) {
  const s = new Session("s1", "alice", "phone", 100, () => undefined, { fill: (_s, c, a, b) => void fills.push([c, a, b]) }, 20);
  const out: OutboundFrame[] = [];
  const pump = (async () => {
    for await (const f of s.frames()) out.push(f);
  })();
  const summary = () => out.map((f) => (f.frame?.case === "message" ? `${f.frame.value.conversationId}#${f.frame.value.seq}` : f.frame?.case));
  return { s, out, pump, summary };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

afterEach(() => {
  vi.useRealTimers();
});

describe("Session: the resume replay merged with live deliveries", () => {
  it("holds live messages during the replay and releases only those the replay did not send, in seq order", async () => {
    const { s, summary } = session();
    s.deliver({ frame: { case: "message", value: msg(3) } });
    s.deliver({ frame: { case: "message", value: msg(5) } });
    s.deliver({ frame: { case: "message", value: msg(4) } });
    s.feeds.settle("c1", [msg(2), msg(3)], 3n);
    s.enqueue({ frame: { case: "syncComplete", value: {} } });
    s.finishSync();
    await tick();
    expect(summary()).toEqual(["c1#2", "c1#3", "syncComplete", "c1#4", "c1#5"]);
    s.end();
  });

  it("never sends a session its own message back, and asks for a gap only after the replay", async () => {
    const fills: [string, bigint, bigint][] = [];
    const { s, summary } = session(fills);
    s.sendResult({ frame: { case: "sendResult", value: { clientMessageId: "x", message: msg(7) } } });
    expect(fills).toEqual([]);
    s.feeds.settle("c1", [], 5n);
    s.finishSync();
    expect(fills).toEqual([["c1", 5n, 7n]]);
    s.feeds.settle("c1", [msg(6)], 6n);
    s.deliver({ frame: { case: "message", value: msg(7) } });
    s.deliver({ frame: { case: "message", value: msg(8) } });
    await tick();
    expect(summary()).toEqual(["sendResult", "c1#6", "c1#8"]);
    s.end();
  });

  it("asks for no fill when the session sends into a large group, whose messages are pulled, not pushed", async () => {
    const fills: [string, bigint, bigint][] = [];
    const { s } = session(fills);
    s.feeds.settle("big", [], 10n);
    s.markLarge("big");
    s.finishSync();
    s.sendResult({ frame: { case: "sendResult", value: { clientMessageId: "x", message: msg(25, "big") } } });
    expect(fills).toEqual([]);
    expect(s.feeds.deliveredOf("big")).toBe(25n);
    s.end();
  });

  it("coalesces a large group's conversation_updated signals per conversation", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const windowMs = 20;
    const s = new Session("s1", "alice", "phone", 100, () => undefined, { fill: () => undefined }, windowMs);
    const frames = s.frames();
    const pong: OutboundFrame = { frame: { case: "pong", value: { nonce: 1n } } };
    s.finishSync();
    for (const seq of [10n, 12n, 11n]) s.deliver({ frame: { case: "conversationUpdated", value: { conversationId: "big", lastSeq: seq } } });
    // Just inside the window, a pong on the same ordered stream comes out first: no signal
    // was queued ahead of it.
    vi.advanceTimersByTime(windowMs - 1);
    s.enqueue(pong);
    expect((await frames.next()).value).toEqual(pong);
    vi.advanceTimersByTime(1);
    expect((await frames.next()).value).toEqual({ frame: { case: "conversationUpdated", value: { conversationId: "big", lastSeq: 12n } } });
    // No flush is pending, so ending the stream shows every frame the session queued.
    expect(vi.getTimerCount()).toBe(0);
    s.end();
    expect((await frames.next()).done).toBe(true);
  });
});
