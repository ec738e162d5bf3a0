import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { MessageRange, MessageRecord } from "../storage/history-repository.js";
import { createArchivedReads, type ArchiveReadSource } from "./archived-reads.js";
import { SegmentCorruptError } from "./segment-codec.js";
import type { SegmentIndexEntry } from "./segment-index.js";
import { textMessage } from "./test-messages.js";

const conversation = "grp_reads";

/** The plain model: HistoryRepository.listMessages over one list of every message. */
function modelPage(all: readonly MessageRecord[], range: MessageRange): MessageRecord[] {
  const rows = all.filter((m) => m.seq > (range.afterSeq ?? 0) && m.seq < (range.beforeSeq ?? Number.POSITIVE_INFINITY)).sort((a, b) => a.seq - b.seq);
  if (range.limit <= 0) return [];
  return range.direction === "forward" ? rows.slice(0, range.limit) : rows.slice(Math.max(0, rows.length - range.limit));
}

function modelAt(all: readonly MessageRecord[], seqs: readonly number[]): MessageRecord[] {
  const wanted = new Set(seqs);
  return all.filter((m) => wanted.has(m.seq)).sort((a, b) => a.seq - b.seq);
}

/** An archived conversation held in memory: segments (with their rows) below live rows. */
class World {
  segments: { entry: SegmentIndexEntry; rows: MessageRecord[] }[] = [];
  /** Blob keys whose bytes are gone (retention removed them, or they were lost). */
  readonly lostBlobs = new Set<string>();
  segmentLoads = 0;

  constructor(public live: MessageRecord[]) {}

  /** Moves the lowest `n` live rows (at least one) into a new segment on top of the others. */
  archive(n: number): void {
    const rows = this.live.slice(0, Math.max(1, n));
    const first = rows[0];
    const last = rows.at(-1);
    if (first === undefined || last === undefined) return;
    this.live = this.live.slice(rows.length);
    const key = `archive/v1/${conversation}/${first.seq}-${last.seq}-${this.segments.length}.seg`;
    this.segments.push({
      entry: { conversationId: conversation, fromSeq: first.seq, toSeq: last.seq, key, sha256: "", count: rows.length, bytes: 0, firstSentAt: first.sentAt, lastSentAt: last.sentAt },
      rows,
    });
  }

  all(): MessageRecord[] {
    return [...this.segments.flatMap((s) => s.rows), ...this.live];
  }

  source(): ArchiveReadSource {
    return {
      index: () => Promise.resolve(this.segments.map((s) => s.entry)),
      segment: (entry) => {
        this.segmentLoads += 1;
        const held = this.segments.find((s) => s.entry.key === entry.key);
        if (held === undefined || this.lostBlobs.has(entry.key)) {
          return Promise.reject(new SegmentCorruptError("missing", entry, "the blob store has no such object"));
        }
        return Promise.resolve(held.rows);
      },
      live: (_id, range) => Promise.resolve(modelPage(this.live, range)),
      liveAt: (_id, seqs) => Promise.resolve(modelAt(this.live, seqs).reverse()),
    };
  }
}

/** Random messages with gaps (deleted seqs), the oldest of them archived in random segments. */
const worldArb = fc
  .record({
    present: fc.array(fc.boolean(), { maxLength: 60, size: "max" }),
    archivedPercent: fc.integer({ min: 0, max: 100 }),
    segmentSizes: fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 20 }),
  })
  .map(({ present, archivedPercent, segmentSizes }) => {
    const messages = present.flatMap((p, i) => (p ? [textMessage(conversation, i + 1)] : []));
    const world = new World(messages);
    let toArchive = Math.round((messages.length * archivedPercent) / 100);
    for (let i = 0; toArchive > 0; i++) {
      const n = Math.min(toArchive, segmentSizes[i % segmentSizes.length] ?? 1);
      world.archive(n);
      toArchive -= n;
    }
    return world;
  });

/** Ranges over seqs 0..max+2: bounds inside, at and beyond the messages, or absent. */
const rangeArb = (max: number): fc.Arbitrary<MessageRange> =>
  fc.record(
    {
      afterSeq: fc.integer({ min: 0, max: max + 2 }),
      beforeSeq: fc.integer({ min: 0, max: max + 3 }),
      limit: fc.integer({ min: 1, max: max + 3 }),
      direction: fc.constantFrom<"forward" | "backward">("forward", "backward"),
    },
    { requiredKeys: ["limit", "direction"] },
  );

/** A world with seqs to look up: archived, live, in gaps, beyond the end, repeated. */
const worldAndSeqs = worldArb.chain((world) =>
  fc.tuple(fc.constant(world), fc.array(fc.integer({ min: 0, max: (world.all().at(-1)?.seq ?? 0) + 2 }), { maxLength: 15 })),
);

/** A world with a range over it. */
const worldAndRange = worldArb.chain((world) => fc.tuple(fc.constant(world), rangeArb(world.all().at(-1)?.seq ?? 0)));

describe("archived reads agree with the plain model", () => {
  it("listMessages: any messages, any archived prefix split into segments, any range", async () => {
    await fc.assert(
      fc.asyncProperty(worldAndRange, async ([world, range]) => {
        const reads = createArchivedReads(world.source());
        expect(await reads.listMessages(conversation, range)).toEqual(modelPage(world.all(), range));
      }),
      { numRuns: 1000 },
    );
  });

  it("messagesAt: any seqs, archived, live, in gaps or beyond the end, repeated", async () => {
    await fc.assert(
      fc.asyncProperty(worldAndSeqs, async ([world, seqs]) => {
        const reads = createArchivedReads(world.source());
        expect(await reads.messagesAt(conversation, seqs)).toEqual(modelAt(world.all(), seqs));
      }),
      { numRuns: 300 },
    );
  });

  /** A source that commits the given archive steps just before the read's n-th call to it. */
  function racing(world: World, commits: readonly { atCall: number; rows: number }[]): ArchiveReadSource {
    const base = world.source();
    let calls = 0;
    const commitDue = (): void => {
      for (const c of commits) if (c.atCall === calls) world.archive(c.rows);
      calls += 1;
    };
    return {
      index: (id) => (commitDue(), base.index(id)),
      segment: (e) => (commitDue(), base.segment(e)),
      live: (id, r) => (commitDue(), base.live(id, r)),
      liveAt: (id, s) => (commitDue(), base.liveAt(id, s)),
    };
  }
  const commitsArb = fc.array(fc.record({ atCall: fc.integer({ min: 0, max: 3 }), rows: fc.integer({ min: 1, max: 15 }) }), { maxLength: 3 });

  it("listMessages answers the same while the archiver commits segments between any two of its reads", async () => {
    await fc.assert(
      fc.asyncProperty(worldAndRange, commitsArb, async ([world, range], commits) => {
        const expected = modelPage(world.all(), range);
        expect(await createArchivedReads(racing(world, commits)).listMessages(conversation, range)).toEqual(expected);
      }),
      { numRuns: 1000 },
    );
  });

  it("messagesAt answers the same while the archiver commits segments between any two of its reads", async () => {
    await fc.assert(
      fc.asyncProperty(worldAndSeqs, commitsArb, async ([world, seqs], commits) => {
        const expected = modelAt(world.all(), seqs);
        expect(await createArchivedReads(racing(world, commits)).messagesAt(conversation, seqs)).toEqual(expected);
      }),
      { numRuns: 500 },
    );
  });
});

describe("archived reads, by example", () => {
  const world = (): World => {
    const w = new World(Array.from({ length: 30 }, (_, i) => textMessage(conversation, i + 1)));
    w.archive(10);
    w.archive(10);
    return w;
  };

  it("reads no segment for the newest page", async () => {
    const w = world();
    const page = await createArchivedReads(w.source()).listMessages(conversation, { limit: 5, direction: "backward" });
    expect(page.map((m) => m.seq)).toEqual([26, 27, 28, 29, 30]);
    expect(w.segmentLoads).toBe(0);
  });

  it("reads only the segments a page reaches", async () => {
    const w = world();
    const page = await createArchivedReads(w.source()).listMessages(conversation, { afterSeq: 12, beforeSeq: 17, limit: 50, direction: "forward" });
    expect(page.map((m) => m.seq)).toEqual([13, 14, 15, 16]);
    expect(w.segmentLoads).toBe(1);
  });

  it("starts over when retention removed a segment after the read took the index", async () => {
    const w = world();
    const base = w.source();
    let removed = false;
    const source: ArchiveReadSource = {
      ...base,
      segment: (e) => {
        if (!removed && e.fromSeq === 1) {
          // Retention deletes seqs 1..10: the index row and the blob go, the read had the old index.
          removed = true;
          w.segments = w.segments.filter((s) => s.entry.fromSeq !== 1);
          w.lostBlobs.add(e.key);
        }
        return base.segment(e);
      },
    };
    const page = await createArchivedReads(source).listMessages(conversation, { limit: 5, direction: "forward" });
    expect(page.map((m) => m.seq)).toEqual([11, 12, 13, 14, 15]);
  });

  it("fails with the segment's error, never a page with a hole, when the index names a blob that is gone", async () => {
    const w = world();
    const lost = w.segments[1]?.entry.key ?? "";
    w.lostBlobs.add(lost);
    const reads = createArchivedReads(w.source());
    const err = await reads.listMessages(conversation, { afterSeq: 5, limit: 20, direction: "forward" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SegmentCorruptError);
    expect((err as SegmentCorruptError).message).toContain(lost);
    expect(w.segmentLoads, "no starting over while the index still names the segment").toBe(2);
    await expect(reads.messagesAt(conversation, [3, 15, 25])).rejects.toThrow(lost);
  });
});
