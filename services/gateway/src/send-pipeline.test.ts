import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { MessageSchema } from "@messenger/proto/chat/v1/types";
import { SendMessageSchema, type SendMessage, type SendResultSchema } from "@messenger/proto/gateway/v1/gateway_service";
import { SendItemResultSchema, type SendItemResult } from "@messenger/proto/router/v1/router_service";
import { describe, expect, it } from "vitest";
import { SendPipeline } from "./send-pipeline.js";

type Result = MessageInitShape<typeof SendResultSchema>;

/** A pipeline over a fake router that stores in call order, failing the ids it is told to. */
function harness(fail: (id: string) => Code | undefined = () => undefined) {
  const calls: string[][] = [];
  const results: Result[] = [];
  let seq = 0n;
  let release: (() => void) | undefined;
  let hold = false;
  const pipeline = new SendPipeline(
    {
      async send(items: readonly SendMessage[]): Promise<SendItemResult[]> {
        calls.push(items.map((s) => s.clientMessageId));
        if (hold) await new Promise<void>((r) => (release = r));
        let broken = false;
        return items.map((s) => {
          const code = broken ? Code.Unavailable : fail(s.clientMessageId);
          if (code === Code.Unavailable) broken = true;
          if (code !== undefined) return create(SendItemResultSchema, { errorCode: code, errorMessage: `failed ${s.clientMessageId}` });
          return create(SendItemResultSchema, { message: create(MessageSchema, { clientMessageId: s.clientMessageId, seq: ++seq }) });
        });
      },
      result: (r) => results.push(r),
      overflow: () => undefined,
      closed: () => false,
    },
    100,
  );
  const send = (id: string) => pipeline.add(create(SendMessageSchema, { conversationId: "c", clientMessageId: id, body: { case: "text", value: id } }));
  const summary = () => results.map((r) => (r.errorCode ? `${r.clientMessageId}:${Code[r.errorCode]}` : `${r.clientMessageId}@${r.message?.seq}`));
  return { pipeline, calls, send, summary, holdNext: () => (hold = true), release: () => ((hold = false), release?.()) };
}

describe("SendPipeline", () => {
  it("sends what arrives while a batch is with the router as the next batch, and answers in order", async () => {
    const h = harness();
    h.holdNext();
    h.send("a");
    await new Promise((r) => setImmediate(r));
    for (const id of ["b", "c", "d"]) h.send(id);
    h.release();
    await h.pipeline.idle();
    expect(h.calls).toEqual([["a"], ["b", "c", "d"]]);
    expect(h.summary()).toEqual(["a@1", "b@2", "c@3", "d@4"]);
  });

  it("after a retryable failure, refuses the rest of its batch and later sends with ABORTED until it is repeated", async () => {
    let down = true;
    const h = harness((id) => (id === "b" && down ? Code.Unavailable : undefined));
    for (const id of ["a", "b", "c"]) h.send(id);
    await h.pipeline.idle();
    h.send("d");
    await h.pipeline.idle();
    expect(h.summary()).toEqual(["a@1", "b:Unavailable", "c:Aborted", "d:Aborted"]);
    down = false;
    for (const id of ["b", "c", "d"]) h.send(id);
    await h.pipeline.idle();
    expect(h.summary().slice(4)).toEqual(["b@2", "c@3", "d@4"]);
  });

  it("does not hold back later sends for one refused for what it is", async () => {
    const h = harness((id) => (id === "b" ? Code.InvalidArgument : undefined));
    for (const id of ["a", "b", "c"]) h.send(id);
    await h.pipeline.idle();
    expect(h.summary()).toEqual(["a@1", "b:InvalidArgument", "c@2"]);
  });

  it("when the router call itself fails, gives the first send the error and refuses the others in order", async () => {
    const results: Result[] = [];
    let up = false;
    const pipeline = new SendPipeline(
      {
        async send(items) {
          if (!up) throw new ConnectError("router went away", Code.Canceled);
          return items.map((s) => create(SendItemResultSchema, { message: create(MessageSchema, { clientMessageId: s.clientMessageId }) }));
        },
        result: (r) => results.push(r),
        overflow: () => undefined,
        closed: () => false,
      },
      100,
    );
    const send = (id: string) => pipeline.add(create(SendMessageSchema, { conversationId: "c", clientMessageId: id, body: { case: "text", value: id } }));
    send("a");
    send("b");
    await pipeline.idle();
    // A vanished peer is an outage to retry, not a cancellation.
    expect(results.map((r) => [r.clientMessageId, r.errorCode])).toEqual([
      ["a", Code.Unavailable],
      ["b", Code.Aborted],
    ]);
    up = true;
    send("a");
    send("b");
    await pipeline.idle();
    expect(results.slice(2).map((r) => [r.clientMessageId, r.errorCode ?? 0])).toEqual([
      ["a", 0],
      ["b", 0],
    ]);
  });

  it("takes a send added at any moment while the previous batch winds down", async () => {
    // Each k adds the second send k microtask ticks after the first batch's result arrives,
    // so some k land between the loop finding its queue empty and the loop being gone.
    for (let k = 0; k < 12; k++) {
      const answered: string[] = [];
      let answer: (() => void) | undefined;
      const pipeline = new SendPipeline(
        {
          send: (batch) =>
            new Promise((resolve) => {
              answer = () => resolve(batch.map((s) => create(SendItemResultSchema, { message: create(MessageSchema, { clientMessageId: s.clientMessageId }) })));
            }),
          result: (r) => answered.push(r.clientMessageId ?? ""),
          overflow: () => undefined,
          closed: () => false,
        },
        10,
      );
      const send = (id: string) => pipeline.add(create(SendMessageSchema, { conversationId: "c", clientMessageId: id, body: { case: "text", value: id } }));
      send("a");
      await new Promise((r) => setImmediate(r));
      answer!();
      let ticks: Promise<void> = Promise.resolve();
      for (let i = 0; i < k; i++) ticks = ticks.then(() => undefined);
      await ticks.then(() => send("b"));
      await new Promise((r) => setImmediate(r));
      answer!();
      await pipeline.idle();
      expect(answered, `second send added ${k} ticks later`).toEqual(["a", "b"]);
    }
  });
});
