import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { MessageSchema } from "@messenger/proto/chat/v1/types";
import { SendItemResultSchema, type SendItemResult, type SendItemSchema } from "@messenger/proto/router/v1/router_service";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { maxItemsPerCall, TurnBatcher } from "./turn-batcher.js";

type SendItemInit = MessageInitShape<typeof SendItemSchema>;
const batcher = (call: (items: SendItemInit[]) => Promise<readonly SendItemResult[]>) => new TurnBatcher<SendItemInit, SendItemResult>(call);

const items = (session: string, n: number): SendItemInit[] =>
  Array.from({ length: n }, (_, i) => ({ message: { conversationId: "c", clientMessageId: `${session}-${i}`, body: { case: "text" as const, value: "t" } }, sender: { userId: session, deviceId: "d", sessionId: session } }));

/** A router that echoes each item's id back as its message. */
function echoRouter(calls: SendItemInit[][]) {
  return async (sent: SendItemInit[]) => {
    calls.push(sent);
    return sent.map((s) => create(SendItemResultSchema, { message: create(MessageSchema, { clientMessageId: s.message?.clientMessageId ?? "", senderUserId: s.sender?.userId ?? "" }) }));
  };
}

describe("TurnBatcher", () => {
  it("sends the batches of many sessions made in one turn as one call, and gives each its own results in order", async () => {
    const calls: SendItemInit[][] = [];
    const b = batcher(echoRouter(calls));
    const [first, second] = await Promise.all([b.send(items("a", 2)), b.send(items("b", 3))]);
    expect(calls).toHaveLength(1);
    expect(first.map((r) => r.message?.clientMessageId)).toEqual(["a-0", "a-1"]);
    expect(second.map((r) => r.message?.clientMessageId)).toEqual(["b-0", "b-1", "b-2"]);
  });

  it("splits a turn's batches across calls when they exceed a call, never splitting a batch", async () => {
    const calls: SendItemInit[][] = [];
    const b = batcher(echoRouter(calls));
    const sizes = [200, 100, 56];
    const results = await Promise.all(sizes.map((n, i) => b.send(items(`s${i}`, n))));
    expect(calls.map((c) => c.length)).toEqual([200, 156]);
    expect(calls.every((c) => c.length <= maxItemsPerCall)).toBe(true);
    expect(results.map((r) => r.length)).toEqual(sizes);
    expect(results[2]!.every((r) => r.message?.senderUserId === "s2")).toBe(true);
  });

  it("fails every batch of a call that fails, or that answers the wrong number of sends", async () => {
    const down = batcher(async () => {
      throw new ConnectError("router down", Code.Unavailable);
    });
    const outcomes = await Promise.allSettled([down.send(items("a", 1)), down.send(items("b", 1))]);
    expect(outcomes.map((o) => o.status)).toEqual(["rejected", "rejected"]);
    const short = batcher(async () => [create(SendItemResultSchema, {})]);
    await expect(short.send(items("a", 2))).rejects.toThrow(/answered 1 of 2 items/);
  });
});
