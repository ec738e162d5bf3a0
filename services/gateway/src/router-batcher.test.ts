import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { MessageSchema } from "@messenger/proto/chat/v1/types";
import { SendItemResultSchema } from "@messenger/proto/router/v1/router_service";
import { describe, expect, it } from "vitest";
import { maxItemsPerCall, RouterBatcher, type SendItemInit } from "./router-batcher.js";

const items = (session: string, n: number): SendItemInit[] =>
  Array.from({ length: n }, (_, i) => ({ conversationId: "c", clientMessageId: `${session}-${i}`, text: "t", sender: { userId: session, deviceId: "d", sessionId: session } }));

/** A router that echoes each item's id back as its message. */
function echoRouter(calls: SendItemInit[][]) {
  return async (sent: SendItemInit[]) => {
    calls.push(sent);
    return sent.map((s) => create(SendItemResultSchema, { message: create(MessageSchema, { clientMessageId: s.clientMessageId, senderUserId: s.sender?.userId ?? "" }) }));
  };
}

describe("RouterBatcher", () => {
  it("sends the batches of many sessions made in one turn as one call, and gives each its own results in order", async () => {
    const calls: SendItemInit[][] = [];
    const batcher = new RouterBatcher(echoRouter(calls));
    const [a, b] = await Promise.all([batcher.send(items("a", 2)), batcher.send(items("b", 3))]);
    expect(calls).toHaveLength(1);
    expect(a.map((r) => r.message?.clientMessageId)).toEqual(["a-0", "a-1"]);
    expect(b.map((r) => r.message?.clientMessageId)).toEqual(["b-0", "b-1", "b-2"]);
  });

  it("splits a turn's batches across calls when they exceed a call, never splitting a batch", async () => {
    const calls: SendItemInit[][] = [];
    const batcher = new RouterBatcher(echoRouter(calls));
    const sizes = [200, 100, 56];
    const results = await Promise.all(sizes.map((n, i) => batcher.send(items(`s${i}`, n))));
    expect(calls.map((c) => c.length)).toEqual([200, 156]);
    expect(calls.every((c) => c.length <= maxItemsPerCall)).toBe(true);
    expect(results.map((r) => r.length)).toEqual(sizes);
    expect(results[2]!.every((r) => r.message?.senderUserId === "s2")).toBe(true);
  });

  it("fails every batch of a call that fails, or that answers the wrong number of sends", async () => {
    const down = new RouterBatcher(async () => {
      throw new ConnectError("router down", Code.Unavailable);
    });
    const outcomes = await Promise.allSettled([down.send(items("a", 1)), down.send(items("b", 1))]);
    expect(outcomes.map((o) => o.status)).toEqual(["rejected", "rejected"]);
    const short = new RouterBatcher(async () => [create(SendItemResultSchema, {})]);
    await expect(short.send(items("a", 2))).rejects.toThrow(/answered 1 of 2/);
  });
});
