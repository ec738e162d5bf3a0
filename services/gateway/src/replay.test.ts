import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { createClient, createRouterTransport } from "@connectrpc/connect";
import { MessageSchema, type Message } from "@messenger/proto/chat/v1/types";
import { ResumeStateSchema } from "@messenger/proto/gateway/v1/gateway_service";
import { StoreService, SyncResponseSchema, SyncedConversationSchema, type SyncRequest } from "@messenger/proto/store/v1/store_service";
import { describe, expect, it } from "vitest";
import { fillGapPage, type ReadWindow } from "./gap-fill.js";
import { replay, resync } from "./replay.js";
import { Session, type OutboundFrame } from "./session.js";

const msg = (conversationId: string, seq: number): Message => create(MessageSchema, { conversationId, seq: BigInt(seq), id: `${conversationId}-${seq}` });
const seqs = (conversationId: string, from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => msg(conversationId, from + i));

/** A promise resolved by hand: the test decides when each store answer arrives. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

type Page = MessageInitShape<typeof SyncedConversationSchema>[];

/**
 * A store whose Sync answers wait for the test, reached through connect's in-memory router
 * transport. `nextSync()` resolves once the replay asked for its next page.
 */
function heldStore() {
  const asked: { req: SyncRequest; answer: (conversations: Page, nextPageToken?: string) => void }[] = [];
  const waiting: ((call: (typeof asked)[number]) => void)[] = [];
  const transport = createRouterTransport(({ service }) =>
    service(StoreService, {
      sync: (req) => {
        const d = deferred<MessageInitShape<typeof SyncResponseSchema>>();
        const call = { req, answer: (conversations: Page, nextPageToken = "") => d.resolve({ conversations, nextPageToken }) };
        const w = waiting.shift();
        if (w) w(call);
        else asked.push(call);
        return d.promise;
      },
    }),
  );
  return {
    client: createClient(StoreService, transport),
    nextSync: () => {
      const call = asked.shift();
      return call ? Promise.resolve(call) : new Promise<(typeof asked)[number]>((r) => waiting.push(r));
    },
  };
}

/**
 * A session whose gap fills are recorded, and run by the test the way the gateway runs them
 * (one page through fillGapPage, then fillEnded), over a store read the test answers.
 */
function harness() {
  const fills: [string, bigint, bigint][] = [];
  const s = new Session("s1", "alice", "phone", 1000, () => undefined, { fill: (_s, c, a, b) => void fills.push([c, a, b]) });
  const frames = s.frames();
  const out: string[] = [];
  const label = (f: OutboundFrame) => (f.frame?.case === "message" ? `${f.frame.value.conversationId}#${f.frame.value.seq}` : (f.frame?.case ?? "?"));
  /** Reads exactly the frames queued so far (the generator yields them without waiting). */
  const drain = async () => {
    for (let n = s.backlog; n > 0; n--) {
      const next = await frames.next();
      if (!next.done) out.push(label(next.value));
    }
    return out;
  };
  const live = (m: Message) => s.deliver({ frame: { case: "message", value: m } });
  const runFill = async (read: ReadWindow) => {
    const [conversationId, after, before] = fills.shift()!;
    await fillGapPage(read, s, conversationId, after, before, 50);
    s.feeds.fillEnded(conversationId);
  };
  return { s, fills, out, drain, live, runFill };
}

const resume = (cursors: Record<string, number>) =>
  create(ResumeStateSchema, { cursors: Object.entries(cursors).map(([conversationId, seq]) => ({ conversationId, seq: BigInt(seq) })) });

describe("replay merged with live deliveries", () => {
  it("delivers a message that arrives live during the replay exactly once, in seq order, and holds what is above the replay's end until sync_complete", async () => {
    const store = heldStore();
    const { s, out, drain, live } = harness();
    const done = replay(store.client, s, resume({ c1: 3 }), 1000);
    const page = await store.nextSync();
    expect(page.req.cursors.map((c) => [c.conversationId, c.seq])).toEqual([["c1", 3n]]);

    // While the store reads: 5 and 6 were stored before its read (the replay has them too),
    // 7 after it (only live has it). They arrive out of order, from two routers.
    live(msg("c1", 7));
    live(msg("c1", 5));
    live(msg("c1", 6));
    await drain();
    expect(out).toEqual([]);

    page.answer([{ conversationId: "c1", lastSeq: 6n, messages: seqs("c1", 4, 6) }]);
    await done;
    live(msg("c1", 8));
    live(msg("c1", 6));
    await drain();
    expect(out).toEqual(["c1#4", "c1#5", "c1#6", "syncComplete", "c1#7", "c1#8"]);
    // Nothing lingers either: the duplicates do not count against the slow-consumer bound.
    expect(s.feeds.backlog).toBe(0);
    s.end();
  });

  it("holds live messages for a conversation the replay already finished until the whole replay is done, across pages", async () => {
    const store = heldStore();
    const { s, out, drain, live } = harness();
    const done = replay(store.client, s, resume({ c1: 3 }), 1000);
    (await store.nextSync()).answer([{ conversationId: "c1", lastSeq: 5n, messages: seqs("c1", 4, 5) }], "page-2");
    const second = await store.nextSync();
    expect(second.req.pageToken).toBe("page-2");
    await drain();
    expect(out).toEqual(["c1#4", "c1#5"]);

    // c1 is replayed, c2 not yet: c2#2 is in c2's replay, c1#6 and c2#4 are above both ends.
    live(msg("c1", 6));
    live(msg("c2", 2));
    live(msg("c2", 4));
    await drain();
    expect(out).toEqual(["c1#4", "c1#5"]);

    second.answer([{ conversationId: "c2", lastSeq: 3n, messages: seqs("c2", 1, 3) }]);
    await done;
    await drain();
    expect(out).toEqual(["c1#4", "c1#5", "c2#1", "c2#2", "c2#3", "syncComplete", "c1#6", "c2#4"]);
    s.end();
  });

  it("fills a gap in live delivery after the replay, from the store, before what waited behind it", async () => {
    const store = heldStore();
    const { s, fills, out, drain, live, runFill } = harness();
    const done = replay(store.client, s, resume({ c1: 3 }), 1000);
    const page = await store.nextSync();
    // 7 and 8 are never delivered live (a router's publish was lost); 9 is.
    live(msg("c1", 9));
    page.answer([{ conversationId: "c1", lastSeq: 6n, messages: seqs("c1", 4, 6) }]);
    await drain();
    expect(fills).toEqual([]);
    await done;
    expect(fills).toEqual([["c1", 6n, 9n]]);

    // 10 arrives while the fill's read is under way: it waits behind the gap too.
    const read = deferred<readonly Message[]>();
    const asked: Parameters<ReadWindow>[0][] = [];
    const filling = runFill((req) => {
      asked.push(req);
      return read.promise;
    });
    live(msg("c1", 10));
    await drain();
    expect(out).toEqual(["c1#4", "c1#5", "c1#6", "syncComplete"]);

    read.resolve([msg("c1", 7), msg("c1", 8)]);
    await filling;
    await drain();
    expect(asked).toEqual([{ userId: "alice", conversationId: "c1", afterSeq: 6n, beforeSeq: 9n, limit: 50 }]);
    expect(out).toEqual(["c1#4", "c1#5", "c1#6", "syncComplete", "c1#7", "c1#8", "c1#9", "c1#10"]);
    expect(fills).toEqual([]);
    s.end();
  });

  it("never re-sends what is at or below the client's cursor, whether the replay or a late live copy carries it", async () => {
    const store = heldStore();
    const { s, fills, out, drain, live } = harness();
    const done = replay(store.client, s, resume({ c1: 5, c2: 3 }), 1000);
    const page = await store.nextSync();
    expect(page.req.cursors.map((c) => [c.conversationId, c.seq])).toEqual([
      ["c1", 5n],
      ["c2", 3n],
    ]);
    // A lagging router's copies of messages the client has.
    live(msg("c1", 4));
    live(msg("c1", 5));
    live(msg("c2", 3));
    page.answer([
      { conversationId: "c1", lastSeq: 5n, unchanged: true },
      { conversationId: "c2", lastSeq: 4n, messages: [msg("c2", 4)] },
    ]);
    await done;
    live(msg("c1", 5));
    live(msg("c1", 6));
    live(msg("c2", 2));
    live(msg("c2", 5));
    await drain();
    expect(out).toEqual(["c2#4", "syncComplete", "c1#6", "c2#5"]);
    expect(s.feeds.backlog).toBe(0);
    expect(fills).toEqual([]);
    s.end();
  });
});

describe("catch-up after the bus link came back", () => {
  it("asks the store from what the session has, delivers only what it lacks, in order, and no receipt again", async () => {
    const store = heldStore();
    const { s, out, drain, live } = harness();
    const first = replay(store.client, s, resume({ c1: 2, c2: 1 }), 1000);
    (await store.nextSync()).answer([
      { conversationId: "c1", lastSeq: 3n, messages: seqs("c1", 3, 3) },
      { conversationId: "c2", lastSeq: 1n, unchanged: true },
    ]);
    await first;
    live(msg("c1", 4));
    await drain();
    expect(out).toEqual(["c1#3", "syncComplete", "c1#4"]);

    // The bus was down: c1#5..6 and c2#2 were published and lost; c3 is a new conversation.
    const caught = resync(store.client, s, 1000);
    const ask = await store.nextSync();
    expect(ask.req.cursors.map((c) => [c.conversationId, c.seq]).sort()).toEqual([
      ["c1", 4n],
      ["c2", 1n],
    ]);
    expect(ask.req.cursors.every((c) => c.receiptsVersion >= BigInt(Number.MAX_SAFE_INTEGER))).toBe(true);
    // One of them also arrives live meanwhile (the link came back before its publish).
    live(msg("c1", 6));
    ask.answer([
      { conversationId: "c1", lastSeq: 6n, messages: seqs("c1", 5, 6) },
      { conversationId: "c2", lastSeq: 2n, messages: seqs("c2", 2, 2) },
      { conversationId: "c3", lastSeq: 1n, messages: seqs("c3", 1, 1) },
    ]);
    // c1#5, c2#2 and c3#1 came from the store; c1#6 had come live.
    expect(await caught).toBe(3);
    await drain();
    expect(out).toEqual(["c1#3", "syncComplete", "c1#4", "c1#5", "c1#6", "c2#2", "c3#1"]);
    expect(s.feeds.backlog).toBe(0);
    s.end();
  });
});
