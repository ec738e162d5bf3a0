import type Database from "better-sqlite3";
import type { BlobStore } from "@messenger/blobs";
import { listMessages, type HistoryRepository } from "@messenger/store";
import { CpuMeter } from "../process-stats.js";
import { seededRandom } from "../stats.js";
import { epoch, reader } from "./seed.js";
import { archiveOldHistory, withArchivedReads, type SegmentIndexEntry } from "@messenger/store";
import { pageSize, type Seqs } from "./walks.js";

export const segmentMessages = 1_000;

/** One round of archiving: the next share of the conversation's segments. */
export interface ArchiveRoundRun {
  readonly segments: number;
  readonly messages: number;
  /** Bytes of the segments written (compressed). */
  readonly bytes: number;
  readonly conflicts: number;
  readonly seconds: number;
  /** Per segment (read rows, encode, write, read back, commit), ms. */
  readonly perSegment: number[];
  readonly cpu: number;
}

/** The whole archiving step: its rounds and what it freed in the database. */
export interface ArchiveStep {
  readonly runs: ArchiveRoundRun[];
  /** Bytes of the database's pages in use before minus after (the rows and their index entries, net of the segment index). */
  readonly freedBytes: number;
}

/** Pages in use times the page size, as the read-only connection sees the file now. */
function usedBytes(db: Database.Database): number {
  const n = (pragma: string): number => db.pragma(pragma, { simple: true }) as number;
  return (n("page_count") - n("freelist_count")) * n("page_size");
}

/**
 * Archives every full segment of the conversation sent before `keepFrom` (a message index:
 * the messages from it on stay live), in `rounds` archiveOldHistory runs of an equal share of
 * segments each, as the store's archiver does (olderThanMs 1 ms before the first one kept).
 */
export async function archiveHistory(repo: HistoryRepository, blobs: BlobStore, raw: Database.Database, opts: { keepFrom: number; rounds: number }): Promise<ArchiveStep> {
  const before = usedBytes(raw);
  const segments = Math.floor(opts.keepFrom / segmentMessages);
  const runs: ArchiveRoundRun[] = [];
  for (let r = 0; r < opts.rounds; r++) {
    const maxSegments = Math.floor(((r + 1) * segments) / opts.rounds) - Math.floor((r * segments) / opts.rounds);
    const perSegment: number[] = [];
    const meter = new CpuMeter({ bench: process.pid });
    const t0 = performance.now();
    let last = t0;
    const out = await archiveOldHistory(repo, blobs, {
      olderThanMs: 1,
      segmentMessages,
      // Message i is sent at epoch + i: the cut-off is the first message kept live.
      now: epoch + opts.keepFrom + 1,
      maxSegments,
      onSegment: () => {
        const t = performance.now();
        perSegment.push(t - last);
        last = t;
      },
    });
    const seconds = (performance.now() - t0) / 1000;
    runs.push({ segments: out.segments, messages: out.messages, bytes: out.bytes, conflicts: out.conflicts, seconds, perSegment, cpu: meter.read().bench! });
  }
  return { runs, freedBytes: before - usedBytes(raw) };
}

/** A page to read before and after archiving. */
export interface PageProbe {
  readonly anchor: number;
  readonly direction: "forward" | "backward";
}

/** What a page answered, to compare. */
export interface PageSeen {
  readonly ids: string[];
  readonly seqs: number[];
  readonly hasMore: boolean;
}

/**
 * Pages worth comparing across the archiving: both ends, both directions across each sampled
 * segment boundary and across the boundary between the archive and the live rows (`liveFrom`,
 * the first seq left live), and random anchors.
 */
export function probes(seqs: Seqs, liveFrom: number, count: number, round: number): PageProbe[] {
  const out: PageProbe[] = [
    { anchor: 0, direction: "backward" },
    { anchor: 0, direction: "forward" },
    { anchor: liveFrom - pageSize / 2, direction: "forward" },
    { anchor: liveFrom + pageSize / 2, direction: "backward" },
    { anchor: liveFrom, direction: "backward" },
    { anchor: liveFrom - 1, direction: "forward" },
  ];
  const next = seededRandom(7 + round);
  const boundaries = Math.floor((liveFrom - seqs.first) / segmentMessages);
  while (out.length < count) {
    // A segment's first seq, then a random anchor.
    const boundary = seqs.first + segmentMessages * (1 + Math.floor(next() * Math.max(1, boundaries - 1)));
    out.push({ anchor: boundary - pageSize / 2, direction: "forward" }, { anchor: boundary + pageSize / 2, direction: "backward" });
    out.push({ anchor: seqs.first + Math.floor(next() * (seqs.last - seqs.first)), direction: next() < 0.5 ? "forward" : "backward" });
  }
  return out.slice(0, count);
}

export async function readProbes(repo: HistoryRepository, conversationId: string, pages: readonly PageProbe[]): Promise<PageSeen[]> {
  const seen: PageSeen[] = [];
  for (const p of pages) {
    const page = await listMessages(repo, reader, { conversationId, anchorSeq: p.anchor, direction: p.direction, pageSize });
    seen.push({ ids: page.messages.map((m) => m.id), seqs: page.messages.map((m) => m.seq), hasMore: page.hasMore });
  }
  return seen;
}

/** The indexes of the pages that answered differently (ids, seqs or hasMore). */
export function differing(before: readonly PageSeen[], after: readonly PageSeen[]): number[] {
  const same = (a: PageSeen, b: PageSeen | undefined): boolean =>
    b !== undefined && a.hasMore === b.hasMore && a.ids.length === b.ids.length && a.ids.every((id, i) => id === b.ids[i] && a.seqs[i] === b.seqs[i]);
  return before.flatMap((b, i) => (same(b, after[i]) ? [] : [i]));
}

/** First and second reads of distinct segments, per page, ms. */
export interface SegmentLoads {
  readonly cold: number[];
  readonly cached: number[];
}

/**
 * Reads a page of 50 at the start of `count` distinct segments (drawn per round) through a
 * fresh withArchivedReads, twice each: the first read loads the segment (blob read, sha256,
 * brotli, decode, checks) into the cache; the second finds it there.
 */
export async function segmentLoads(repo: HistoryRepository, blobs: BlobStore, conversationId: string, round: number, count: number): Promise<SegmentLoads> {
  const index: readonly SegmentIndexEntry[] = await repo.segmentIndex(conversationId);
  const next = seededRandom(5_000 + round);
  const picked = new Set<number>();
  while (picked.size < Math.min(count, index.length)) picked.add(Math.floor(next() * index.length));
  const archived = withArchivedReads(repo, blobs);
  const cold: number[] = [];
  const cached: number[] = [];
  for (const i of picked) {
    const req = { conversationId, anchorSeq: index[i]!.fromSeq - 1, direction: "forward" as const, pageSize };
    for (const into of [cold, cached]) {
      const t0 = performance.now();
      await listMessages(archived, reader, req);
      into.push(performance.now() - t0);
    }
  }
  return { cold, cached };
}
