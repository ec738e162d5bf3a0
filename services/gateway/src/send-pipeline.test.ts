import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { MessageSchema } from "@messenger/proto/chat/v1/types";
import { SendMessageSchema, type SendMessage, type SendResultSchema } from "@messenger/proto/gateway/v1/gateway_service";
import { SendItemResultSchema, type SendItemResult } from "@messenger/proto/router/v1/router_service";
import { describe, expect, it } from "vitest";
import { SendOrder } from "./send-order.js";
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
      retryAfterMs: () => 250,
      reconnect: () => undefined,
      closed: () => false,
    },
    new SendOrder(100),
  );
  const send = (id: string) => pipeline.add(create(SendMessageSchema, { conversationId: "c", clientMessageId: id, body: { case: "text", value: id } }));
  const summary = () => results.map((r) => (r.errorCode ? `${r.clientMessageId}:${Code[r.errorCode]}` : `${r.clientMessageId}@${r.message?.seq}`));
  return { pipeline, calls, results, send, summary, holdNext: () => (hold = true), release: () => ((hold = false), release?.()) };
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

  it("after a retryable failure, refuses the rest of its batch and later sends with UNAVAILABLE and a retry hint until it is repeated", async () => {
    let down = true;
    const h = harness((id) => (id === "b" && down ? Code.Unavailable : undefined));
    for (const id of ["a", "b", "c"]) h.send(id);
    await h.pipeline.idle();
    h.send("d");
    await h.pipeline.idle();
    expect(h.summary()).toEqual(["a@1", "b:Unavailable", "c:Unavailable", "d:Unavailable"]);
    expect(h.results.slice(1).map((r) => r.retryAfterMs)).toEqual([250, 250, 250]);
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
        retryAfterMs: () => 250,
        reconnect: () => undefined,
        closed: () => false,
      },
      new SendOrder(100),
    );
    const send = (id: string) => pipeline.add(create(SendMessageSchema, { conversationId: "c", clientMessageId: id, body: { case: "text", value: id } }));
    send("a");
    send("b");
    await pipeline.idle();
    // A vanished peer is an outage to retry, not a cancellation.
    expect(results.map((r) => [r.clientMessageId, r.errorCode])).toEqual([
      ["a", Code.Unavailable],
      ["b", Code.Unavailable],
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
          retryAfterMs: () => 250,
          reconnect: () => undefined,
          closed: () => false,
        },
        new SendOrder(10),
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

/** A small seeded generator (mulberry32), so a failing run can be replayed. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("SendPipeline through outages", () => {
  it("never cuts a session that keeps sending through an outage: every send refused with a hint, past the order's bound one go_away", async () => {
    const results: Result[] = [];
    const reconnects: number[] = [];
    const limit = 50;
    const order = new SendOrder(limit);
    let closed = false;
    const pipeline = new SendPipeline(
      {
        send: async () => {
          throw new ConnectError("router went away", Code.Unavailable);
        },
        result: (r) => results.push(r),
        retryAfterMs: () => 1_234,
        reconnect: (ms) => {
          reconnects.push(ms);
          closed = true;
        },
        closed: () => closed,
      },
      order,
    );
    for (let i = 0; i < limit; i++) {
      pipeline.add(create(SendMessageSchema, { conversationId: "c", clientMessageId: `m${i}`, body: { case: "text", value: "x" } }));
      if (i % 7 === 0) await pipeline.idle();
    }
    await pipeline.idle();
    // Within the bound: each refused with the hint, all remembered, no go_away.
    expect(results).toHaveLength(limit);
    expect(new Set(results.map((r) => r.errorCode))).toEqual(new Set([Code.Unavailable]));
    expect(results.every((r) => r.retryAfterMs === 1_234)).toBe(true);
    expect(order.size).toBe(limit);
    expect(reconnects).toEqual([]);
    // One more than it can remember: refused too, and the client is asked, once, to
    // reconnect after the hint and repeat in order.
    for (let i = limit; i < limit + 10; i++) pipeline.add(create(SendMessageSchema, { conversationId: "c", clientMessageId: `m${i}`, body: { case: "text", value: "x" } }));
    await pipeline.idle();
    expect(results[limit]).toMatchObject({ clientMessageId: `m${limit}`, errorCode: Code.Unavailable, retryAfterMs: 1_234 });
    expect(reconnects).toEqual([1_234]);
    expect(order.size).toBe(limit);
  });

  /**
   * A device sends 60 messages in order and repeats unacknowledged ones in any order, over a
   * router that fails at random (before storing, midway through a batch, or after storing:
   * fate unknown to the gateway). When the gateway asks it to reconnect, it opens a fresh
   * stream (the old one's batch may still be with the router) and repeats what is pending in
   * order first, as the protocol asks. Returns the order in which the messages were stored.
   */
  async function storedOrder(seed: number, orderLimit: number): Promise<{ stored: string[]; reconnects: number }> {
    const random = prng(seed);
    const stored: string[] = [];
    const storedSet = new Set<string>();
    const router = async (items: readonly SendMessage[]): Promise<SendItemResult[]> => {
      await new Promise((r) => setImmediate(r));
      const roll = random();
      if (roll < 0.15) throw new ConnectError("router down", Code.Unavailable);
      const failAt = roll < 0.3 ? Math.floor(random() * items.length) : items.length;
      let broken = false;
      const out = items.map((s, i) => {
        if (broken || i === failAt) {
          broken = true;
          return create(SendItemResultSchema, { errorCode: Code.Unavailable, errorMessage: "not stored" });
        }
        const duplicate = storedSet.has(s.clientMessageId);
        if (!duplicate) {
          storedSet.add(s.clientMessageId);
          stored.push(s.clientMessageId);
        }
        return create(SendItemResultSchema, { message: create(MessageSchema, { clientMessageId: s.clientMessageId }), duplicate });
      });
      if (roll > 0.9) throw new ConnectError("connection lost after the store", Code.Unavailable);
      return out;
    };
    const acked = new Set<string>();
    let clock = 0;
    let reconnects = 0;
    let stream = 0;
    const open = (): SendPipeline => {
      const mine = ++stream;
      // A closed stream's answers never reach the client.
      const live = () => mine === stream;
      return new SendPipeline(
        {
          send: router,
          result: (r) => void (live() && !r.errorCode ? acked.add(r.clientMessageId ?? "") : undefined),
          retryAfterMs: () => 1,
          reconnect: () => {
            reconnects++;
            stream++;
          },
          closed: () => !live(),
        },
        new SendOrder(orderLimit, 60_000, () => clock),
      );
    };
    let pipeline = open();
    let current = stream;
    const total = 60;
    const id = (i: number) => `m${String(i).padStart(3, "0")}`;
    const send = (i: number) => pipeline.add(create(SendMessageSchema, { conversationId: "c", clientMessageId: id(i), body: { case: "text", value: id(i) } }));
    const pendingIds = (upTo: number) => Array.from({ length: upTo }, (_, i) => i).filter((i) => !acked.has(id(i)));
    const reopenIfAsked = () => {
      if (current === stream) return;
      pipeline = open();
      current = stream;
      for (const i of pendingIds(next)) send(i);
    };
    let next = 0;
    for (let step = 0; step < 400 && acked.size < total; step++) {
      const pending = pendingIds(next);
      const roll = random();
      if (next < total && roll < 0.4) send(next++);
      else if (roll < 0.7) for (const i of pending.sort(() => random() - 0.5).slice(0, 3)) send(i);
      else for (const i of pending) send(i);
      if (random() < 0.5) await pipeline.idle();
      reopenIfAsked();
    }
    // Then it repeats in order until everything is stored. A copy of a stored send may have
    // failed and head the queue; the client, holding it as stored, never repeats it, and
    // after the hold time the gateway lets the queue go.
    for (let round = 0; acked.size < total; round++) {
      const before = acked.size;
      next = total;
      for (const i of pendingIds(total)) send(i);
      await pipeline.idle();
      reopenIfAsked();
      if (acked.size === before) clock += 61_000;
      if (round > 300) throw new Error(`seed ${seed}: stuck`);
    }
    return { stored, reconnects };
  }

  it("never stores a device's later send before an earlier one, whatever the client repeats and whenever the router fails", async () => {
    for (let seed = 1; seed <= 150; seed++) {
      const { stored } = await storedOrder(seed, 1_000);
      expect(stored, `seed ${seed}`).toEqual([...stored].sort());
      expect(stored, `seed ${seed}`).toHaveLength(60);
    }
  });

  it("keeps the order past its bound too: the client is sent to a fresh stream to repeat in order", async () => {
    let reconnects = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const r = await storedOrder(seed, 6);
      reconnects += r.reconnects;
      expect(r.stored, `seed ${seed}`).toEqual([...r.stored].sort());
      expect(r.stored, `seed ${seed}`).toHaveLength(60);
    }
    expect(reconnects).toBeGreaterThan(0);
  });
});
