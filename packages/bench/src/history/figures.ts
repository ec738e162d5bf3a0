import type { Figure } from "../report.js";
import { median, quantile } from "../stats.js";
import { segmentMessages, type ArchiveStep, type SegmentLoads } from "./archive.js";
import { appendBatch, textBytes, type SeedRun } from "./seed.js";
import { sweepLimit, ttlSeconds, type SweepRun } from "./sweep.js";
import { walks, type PageRun, type Walk } from "./walks.js";

/** Everything one run of the scenario measured. */
export interface HistoryRun {
  readonly seeding: SeedRun[];
  /** By `${walk}/domain` and `${walk}/raw`: the reads before archiving. */
  readonly reads: Map<string, PageRun[]>;
  readonly archiving: ArchiveStep;
  /** By `${walk}/cold` and `${walk}/warm`: the reads through the archive. */
  readonly archivedReads: Map<string, PageRun[]>;
  /** By the same keys: segments read from the blob store per round. */
  readonly segmentReads: Map<string, number[]>;
  readonly loads: SegmentLoads[];
  /** Per round: sample pages that read differently through the archive than before it. */
  readonly mismatches: number[];
  readonly probes: number;
  readonly sweeps: SweepRun[];
  readonly total: number;
  readonly keptLive: number;
  readonly pagesPerWalk: number;
  /** Pages read through the archive per round and cache state: from either end, at random anchors. */
  readonly archivedPages: { readonly ends: string; readonly random: number };
  readonly quick: boolean;
  readonly half: number;
}

const scenario = "history";
const label: Record<Walk, string> = {
  newest: "walking back from the newest",
  oldest: "walking forward from the oldest",
  random: "at random anchors (forward)",
};
const fmt = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const pagesPerSecond = (xs: readonly PageRun[]): number[] => xs.map((x) => x.pages / x.seconds);
const messagesPerSecond = (xs: readonly PageRun[]): number[] => xs.map((x) => x.messages / x.seconds);
/** µs per page at the quantile, per round. */
const at = (xs: readonly PageRun[], q: number): number[] => xs.map((x) => 1000 * quantile(x.latencies, q));

export function figures(run: HistoryRun): Figure[] {
  const size = `${run.total >= 1_000_000 ? `${run.total / 1_000_000}M` : `${run.total / 1000}k`} msgs${run.quick ? " (quick; full run: 1M)" : ""}`;
  return [
    {
      scenario,
      name: `seeding one direct conversation, ${size} of ${textBytes} B text`,
      unit: "msgs/s",
      rounds: run.seeding.map((s) => s.messages / s.seconds),
      cpu: { bench: run.seeding.map((s) => s.cpu) },
      note: `repo.append in batches of ${appendBatch}, writer thread, synchronous=FULL, on disk; one round = the next ${(run.total / run.seeding.length).toLocaleString("en-US")} messages`,
    },
    ...walks.flatMap((walk) => unarchivedWalk(run, walk, size)),
    ...archiving(run),
    ...walks.flatMap((walk) => archivedWalk(run, walk)),
    ...segmentLoadFigures(run),
    {
      scenario,
      name: "archived pages reading differently than before archiving",
      unit: "pages",
      rounds: run.mismatches,
      cpu: {},
      note: `${run.probes} sample pages (both ends, across segment and live boundaries, random) per round, ids, seqs and hasMore; must be 0`,
    },
    ...sweepFigures(run),
  ];
}

function unarchivedWalk(run: HistoryRun, walk: Walk, size: string): Figure[] {
  const domain = run.reads.get(`${walk}/domain`)!;
  const raw = run.reads.get(`${walk}/raw`)!;
  const sql = walk === "newest" ? "seq < ? ORDER BY seq DESC LIMIT 50" : "seq > ? ORDER BY seq LIMIT 50";
  return [
    {
      scenario,
      name: `raw SQL page of 50 ${label[walk]}, ${size}`,
      unit: "pages/s",
      rounds: pagesPerSecond(raw),
      cpu: { bench: raw.map((x) => x.cpu) },
      note: `SELECT * ... ${sql}, read-only better-sqlite3 connection, same file; ${run.pagesPerWalk} pages per round`,
    },
    {
      scenario,
      name: `listMessages page of 50 ${label[walk]}`,
      unit: "pages/s",
      rounds: pagesPerSecond(domain),
      cpu: { bench: domain.map((x) => x.cpu) },
      baseline: { name: "raw SQL", value: median(pagesPerSecond(raw)) },
      note: "domain function of HistoryService.ListMessages on the SQLite adapter, nothing archived",
    },
    {
      scenario,
      name: `listMessages messages/s ${label[walk]}`,
      unit: "msgs/s",
      rounds: messagesPerSecond(domain),
      cpu: { bench: domain.map((x) => x.cpu) },
      baseline: { name: "raw SQL", value: median(messagesPerSecond(raw)) },
    },
    {
      scenario,
      name: `listMessages p50 per page ${label[walk]}`,
      unit: "µs",
      rounds: at(domain, 0.5),
      cpu: {},
      baseline: { name: "raw SQL p50", value: median(at(raw, 0.5)) },
    },
    {
      scenario,
      name: `listMessages p99 per page ${label[walk]}`,
      unit: "µs",
      rounds: at(domain, 0.99),
      cpu: {},
      baseline: { name: "raw SQL p99", value: median(at(raw, 0.99)) },
    },
  ];
}

function archiving(run: HistoryRun): Figure[] {
  const runs = run.archiving.runs;
  const messages = runs.reduce((n, r) => n + r.messages, 0);
  const bytes = runs.reduce((n, r) => n + r.bytes, 0);
  const conflicts = runs.reduce((n, r) => n + r.conflicts, 0);
  return [
    {
      scenario,
      name: `archiving into a local blob store, segments of ${segmentMessages.toLocaleString("en-US")}`,
      unit: "msgs/s",
      rounds: runs.map((r) => r.messages / r.seconds),
      cpu: { bench: runs.map((r) => r.cpu) },
      note: `archiveOldHistory over all but the newest ${run.keptLive.toLocaleString("en-US")}: ${messages.toLocaleString("en-US")} messages in ${runs.length} runs of maxSegments; ${conflicts} conflicts`,
    },
    {
      scenario,
      name: "archiving, segments/s",
      unit: "segments/s",
      rounds: runs.map((r) => r.segments / r.seconds),
      cpu: {},
      note: "each: read 1,000 rows, encode, brotli q6, write, read back and verify, commit (index row in, rows out)",
    },
    {
      scenario,
      name: "archiving, p50 per segment",
      unit: "ms",
      rounds: runs.map((r) => quantile(r.perSegment, 0.5)),
      cpu: {},
      note: `p99 ${fmt(median(runs.map((r) => quantile(r.perSegment, 0.99))))} ms`,
    },
    {
      scenario,
      name: "archiving, segment bytes written",
      unit: "MB",
      rounds: runs.map((r) => r.bytes / 1e6),
      cpu: {},
      note: `${fmt(bytes / messages)} B per message; ${(bytes / 1e6).toFixed(1)} MB in all`,
    },
    {
      scenario,
      name: "archiving, database bytes freed per segment byte",
      unit: "x",
      rounds: [run.archiving.freedBytes / bytes],
      cpu: {},
      note: `SQLite pages in use before minus after (rows and their index entries, net of the segment index): ${(run.archiving.freedBytes / 1e6).toFixed(1)} MB, ${fmt(run.archiving.freedBytes / messages)} B per message`,
    },
  ];
}

function archivedWalk(run: HistoryRun, walk: Walk): Figure[] {
  const base = run.reads.get(`${walk}/domain`)!;
  return (["cold", "warm"] as const).flatMap((cache): Figure[] => {
    const xs = run.archivedReads.get(`${walk}/${cache}`)!;
    const pages = walk === "random" ? `${run.archivedPages.random} pages` : run.archivedPages.ends;
    const how =
      walk === "random"
        ? cache === "cold"
          ? `${pages} on a fresh withArchivedReads (empty segment cache)`
          : "the same anchors again on it (20 of the segments fit the cache)"
        : cache === "cold"
          ? `${pages} pages, each pass on a fresh withArchivedReads (a segment load every 20 pages)`
          : "as many passes again on the last one (the pass fits the cache)";
    return [
      {
        scenario,
        name: `archived: listMessages page of 50 ${label[walk]}, cache ${cache}`,
        unit: "pages/s",
        rounds: pagesPerSecond(xs),
        cpu: { bench: xs.map((x) => x.cpu) },
        baseline: { name: "unarchived", value: median(pagesPerSecond(base)) },
        note: `${how}; ${median(run.segmentReads.get(`${walk}/${cache}`)!)} segments loaded per round; ${fmt(median(messagesPerSecond(xs)))} msgs/s (unarchived ${fmt(median(messagesPerSecond(base)))})`,
      },
      {
        scenario,
        name: `archived: p50 per page ${label[walk]}, cache ${cache}`,
        unit: "µs",
        rounds: at(xs, 0.5),
        cpu: {},
        baseline: { name: "unarchived p50", value: median(at(base, 0.5)) },
      },
      {
        scenario,
        name: `archived: p99 per page ${label[walk]}, cache ${cache}`,
        unit: "µs",
        rounds: at(xs, 0.99),
        cpu: {},
        baseline: { name: "unarchived p99", value: median(at(base, 0.99)) },
      },
    ];
  });
}

function segmentLoadFigures(run: HistoryRun): Figure[] {
  const n = run.loads[0]?.cold.length ?? 0;
  return [
    {
      scenario,
      name: "archived: first page of a segment not in the cache, p50",
      unit: "ms",
      rounds: run.loads.map((l) => quantile(l.cold, 0.5)),
      cpu: {},
      note: `${n} distinct segments per round through listMessages; the blob files are in the OS page cache (just written)`,
    },
    {
      scenario,
      name: "archived: first page of a segment not in the cache, p99",
      unit: "ms",
      rounds: run.loads.map((l) => quantile(l.cold, 0.99)),
      cpu: {},
    },
    {
      scenario,
      name: "archived: the same page again, segment cached, p50",
      unit: "ms",
      rounds: run.loads.map((l) => quantile(l.cached, 0.5)),
      cpu: {},
    },
  ];
}

function sweepFigures(run: HistoryRun): Figure[] {
  const slice = Math.floor(run.half / run.sweeps.length);
  const sum = (f: (s: SweepRun) => number): number => run.sweeps.reduce((n, s) => n + f(s), 0);
  return [
    {
      scenario,
      name: `retention sweep over archived history, retentionPass(now, ${sweepLimit}) + collectArchive, disappearing ttl ${ttlSeconds} s`,
      unit: "msgs/s",
      rounds: run.sweeps.map((s) => s.deleted / s.seconds),
      cpu: { bench: run.sweeps.map((s) => s.cpu) },
      note: `the oldest half (${run.half.toLocaleString("en-US")}, all archived) deleted, ~${slice.toLocaleString("en-US")} per round, passes back to back`,
    },
    {
      scenario,
      name: `retention sweep over archived history, p50 per pass`,
      unit: "ms",
      rounds: run.sweeps.map((s) => quantile(s.passes, 0.5)),
      cpu: {},
      note: `${median(run.sweeps.map((s) => s.passes.length))} passes per round; p99 ${fmt(median(run.sweeps.map((s) => quantile(s.passes, 0.99))))} ms`,
    },
    {
      scenario,
      name: "retention sweep, archive segments dropped per round",
      unit: "segments",
      rounds: run.sweeps.map((s) => s.dropped),
      cpu: {},
      note: `in all ${sum((s) => s.dropped)} dropped, ${sum((s) => s.rewritten)} rewritten, ${sum((s) => s.blobsDeleted)} blobs deleted`,
    },
    {
      scenario,
      name: "sweep passes saying done while messages were still due",
      unit: "passes",
      rounds: run.sweeps.map((s) => s.idleWithDue),
      cpu: {},
      note: `the store's sweeper waits RETENTION_SWEEP_INTERVAL_MS after such a pass; must be 0`,
    },
    {
      scenario,
      name: "sweeps deleting a wrong count, leaving the oldest page off the new min_seq or segments behind",
      unit: "rounds",
      rounds: run.sweeps.map((s) => (s.correct ? 0 : 1)),
      cpu: {},
      note: "listMessages forward from 0 after each sweep; no segment below min_seq; segment files = index entries; must be 0",
    },
  ];
}
