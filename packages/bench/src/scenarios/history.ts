import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { listMessages, openSqliteHistoryRepository, type HistoryRepository } from "@messenger/store";
import { CpuMeter } from "../process-stats.js";
import type { Figure } from "../report.js";
import type { ScenarioContext } from "../scenario.js";
import { median, quantile, seededRandom } from "../stats.js";

const pageSize = 50;
const appendBatch = 500;
const textBytes = 100;
const ttlSeconds = 300;
const sweepLimit = 1_000;
const warmupPages = 500;
/** Sent times start here and move 1 ms per message, so a cutoff names an exact prefix. */
const epoch = Date.UTC(2026, 0, 1);
const reader = "alice";

type Walk = "newest" | "oldest" | "random";
const walks: readonly Walk[] = ["newest", "oldest", "random"];
type Path = "domain" | "raw";

/** One measured walk of `pages` pages. */
interface PageRun {
  readonly pages: number;
  readonly messages: number;
  readonly seconds: number;
  /** Per page, ms. */
  readonly latencies: number[];
  readonly cpu: number;
}

/** One round of the retention sweeper over its slice of the oldest half. */
interface SweepRun {
  readonly deleted: number;
  readonly seconds: number;
  /** Per deleteExpired pass, ms. */
  readonly passes: number[];
  readonly cpu: number;
  /** The oldest page after the sweep starts at the new min_seq (and the head says so). */
  readonly correct: boolean;
  /** What the read after the sweep saw: its first seq (0 for an empty page) and min_seq. */
  readonly seen: { readonly firstSeq: number; readonly minSeq: number };
}

interface SeedRun {
  readonly messages: number;
  readonly seconds: number;
  readonly cpu: number;
}

const fmt = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const text = (i: number): string => `message ${i} `.padEnd(textBytes, "x");

/**
 * History at scale, in-process on the real SQLite adapter (a file in a temp dir on disk,
 * writer thread with synchronous=FULL): seeding one direct conversation in batches; pages of
 * 50 through the domain listMessages (what HistoryService.ListMessages runs) from the newest,
 * from the oldest and at random anchors, each against the raw SQL of one page on a read-only
 * better-sqlite3 connection to the same file in the same round; then the retention sweeper
 * (deleteExpired, 1000 per pass) deleting the oldest half, a slice per round, each followed
 * by a check that the oldest page starts at the new min_seq.
 */
export async function history(ctx: ScenarioContext): Promise<Figure[]> {
  const total = ctx.quick ? 100_000 : 1_000_000;
  const rounds = ctx.rounds;
  const pagesPerWalk = ctx.quick ? 10_000 : 20_000;
  const dir = mkdtempSync(join(tmpdir(), "bench-history-"));
  const path = join(dir, "history.db");
  const repo = openSqliteHistoryRepository(path);
  let raw: Database.Database | undefined;
  try {
    const conv = await repo.openDirect(reader, "bob", epoch - 1, false);
    const seeding: SeedRun[] = [];
    let firstSeq = 0;
    for (let r = 0; r < rounds; r++) {
      const from = Math.floor((r * total) / rounds);
      const to = Math.floor(((r + 1) * total) / rounds);
      const s = await seed(repo, conv.id, from, to);
      if (r === 0) firstSeq = s.firstSeq;
      seeding.push(s.run);
      ctx.log(`history seeding ${r + 1}: ${(to - from).toLocaleString("en-US")} messages in ${s.run.seconds.toFixed(2)} s = ${fmt(s.run.messages / s.run.seconds)}/s, CPU ${fmt(s.run.cpu)}%`);
    }
    const seqs = { first: firstSeq, last: firstSeq + total - 1 };
    raw = new Database(path, { readonly: true });
    // Unmeasured: the first walk after seeding otherwise pays the JIT and a cold page cache.
    for (const walk of walks) {
      await domainWalk(repo, conv.id, walk, warmupPages, seqs, 0);
      rawWalk(raw, conv.id, walk, warmupPages, seqs, 0);
    }
    const reads = new Map<string, PageRun[]>();
    for (let r = 0; r < rounds; r++) {
      // Both paths in every round on the same anchors; which goes first alternates.
      const order: Path[] = r % 2 === 0 ? ["domain", "raw"] : ["raw", "domain"];
      for (const walk of walks) {
        for (const p of order) {
          const run = p === "domain" ? await domainWalk(repo, conv.id, walk, pagesPerWalk, seqs, r) : rawWalk(raw, conv.id, walk, pagesPerWalk, seqs, r);
          const key = `${walk}/${p}`;
          reads.set(key, [...(reads.get(key) ?? []), run]);
          ctx.log(
            `history round ${r + 1}, ${walk} via ${p}: ${run.pages} pages in ${run.seconds.toFixed(2)} s = ${fmt(run.pages / run.seconds)} pages/s, ${fmt(run.messages / run.seconds)} msgs/s, p50 ${fmt(1000 * quantile(run.latencies, 0.5))} µs p99 ${fmt(1000 * quantile(run.latencies, 0.99))} µs, CPU ${fmt(run.cpu)}%`,
          );
        }
      }
    }
    await repo.setRetention({ conversationId: conv.id, actorUserId: reader, retention: { mode: "disappearing", ttlSeconds }, now: epoch + total });
    const half = Math.floor(total / 2);
    const sweeps: SweepRun[] = [];
    for (let r = 0; r < rounds; r++) {
      const from = Math.floor((r * half) / rounds);
      const to = Math.floor(((r + 1) * half) / rounds);
      const s = await sweep(repo, conv.id, to, firstSeq + to);
      // A wrong count fails the round as surely as a wrong first page.
      sweeps.push({ ...s, correct: s.correct && s.deleted === to - from });
      if (s.deleted !== to - from) ctx.log(`history: FAILED: the sweep deleted ${s.deleted} messages, ${to - from} were due`);
      if (!s.correct) {
        ctx.log(`history: FAILED: after the sweep the oldest page starts at seq ${s.seen.firstSeq} with min_seq ${s.seen.minSeq}; both should be ${firstSeq + to}`);
      }
      ctx.log(`history sweep ${r + 1}: ${s.deleted.toLocaleString("en-US")} deleted in ${s.seconds.toFixed(2)} s = ${fmt(s.deleted / s.seconds)}/s, ${s.passes.length} passes, p50 ${fmt(quantile(s.passes, 0.5))} ms p99 ${fmt(quantile(s.passes, 0.99))} ms, CPU ${fmt(s.cpu)}%`);
    }
    return figures({ seeding, reads, sweeps, total, pagesPerWalk, quick: ctx.quick, half });
  } finally {
    raw?.close();
    await repo.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Appends messages from..to (exclusive) in batches, each message 1 ms after the previous. */
async function seed(repo: HistoryRepository, conversationId: string, from: number, to: number): Promise<{ run: SeedRun; firstSeq: number }> {
  const meter = new CpuMeter({ bench: process.pid });
  const t0 = performance.now();
  let firstSeq = 0;
  for (let i = from; i < to; i += appendBatch) {
    const inputs = Array.from({ length: Math.min(appendBatch, to - i) }, (_, k) => ({
      conversationId,
      senderUserId: reader,
      senderDeviceId: "phone",
      clientMessageId: `m${i + k}`,
      body: { kind: "text" as const, text: text(i + k) },
      replyToSeq: 0,
      clientSentAt: undefined,
      now: epoch + i + k,
    }));
    const out = await repo.append(inputs);
    const failed = out.find((o) => !o.ok);
    if (failed && !failed.ok) throw new Error(`history bench: seeding refused: ${failed.error}`);
    if (i === from && out[0]?.ok) firstSeq = out[0].message.seq;
  }
  const seconds = (performance.now() - t0) / 1000;
  return { run: { messages: to - from, seconds, cpu: meter.read().bench! }, firstSeq };
}

/** The seqs the conversation's messages span while the reads run. */
interface Seqs {
  readonly first: number;
  readonly last: number;
}

/** Random anchors, drawn from a seed per round so both paths read the same pages. */
function anchors(seqs: Seqs, round: number): () => number {
  const next = seededRandom(1_000 + round);
  return () => Math.floor(next() * (seqs.last - pageSize));
}

async function domainWalk(repo: HistoryRepository, conversationId: string, walk: Walk, pages: number, seqs: Seqs, round: number): Promise<PageRun> {
  const latencies: number[] = [];
  const draw = anchors(seqs, round);
  let anchor = 0;
  let messages = 0;
  const meter = new CpuMeter({ bench: process.pid });
  const t0 = performance.now();
  for (let i = 0; i < pages; i++) {
    if (walk === "random") anchor = draw();
    const p0 = performance.now();
    const page = await listMessages(repo, reader, { conversationId, anchorSeq: anchor, direction: walk === "newest" ? "backward" : "forward", pageSize });
    latencies.push(performance.now() - p0);
    messages += page.messages.length;
    if (walk !== "random") {
      // At either end the walk starts over from where it began.
      anchor = !page.hasMore ? 0 : walk === "newest" ? page.messages[0]!.seq : page.messages.at(-1)!.seq;
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  return { pages, messages, seconds, latencies, cpu: meter.read().bench! };
}

function rawWalk(db: Database.Database, conversationId: string, walk: Walk, pages: number, seqs: Seqs, round: number): PageRun {
  const forward = db.prepare<[string, number], { seq: number }>(`SELECT * FROM messages WHERE conversation_id = ? AND seq > ? ORDER BY seq LIMIT ${pageSize}`);
  // The backward mirror of the same page, for the walk from the newest.
  const backward = db.prepare<[string, number], { seq: number }>(`SELECT * FROM messages WHERE conversation_id = ? AND seq < ? ORDER BY seq DESC LIMIT ${pageSize}`);
  const latencies: number[] = [];
  const draw = anchors(seqs, round);
  const top = Number.MAX_SAFE_INTEGER;
  let anchor = walk === "newest" ? top : 0;
  let messages = 0;
  const meter = new CpuMeter({ bench: process.pid });
  const t0 = performance.now();
  for (let i = 0; i < pages; i++) {
    if (walk === "random") anchor = draw();
    const p0 = performance.now();
    const rows = (walk === "newest" ? backward : forward).all(conversationId, anchor);
    latencies.push(performance.now() - p0);
    messages += rows.length;
    if (walk !== "random") {
      // Starts over where listMessages would say hasMore = false.
      const end = rows.at(-1)?.seq;
      if (walk === "newest") anchor = end === undefined || end <= seqs.first ? top : end;
      else anchor = end === undefined || end >= seqs.last ? 0 : end;
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  return { pages, messages, seconds, latencies, cpu: meter.read().bench! };
}

/**
 * Deletes every message sent before message `dueBefore` with deleteExpired passes until none
 * is left, then reads the oldest page through the domain: it must start at `expectedMinSeq`.
 */
async function sweep(repo: HistoryRepository, conversationId: string, dueBefore: number, expectedMinSeq: number): Promise<SweepRun> {
  const now = epoch + dueBefore + ttlSeconds * 1000;
  const passes: number[] = [];
  let deleted = 0;
  const meter = new CpuMeter({ bench: process.pid });
  const t0 = performance.now();
  for (;;) {
    const p0 = performance.now();
    const out = await repo.deleteExpired(now, sweepLimit);
    passes.push(performance.now() - p0);
    deleted += out.deleted;
    if (!out.more) break;
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = meter.read().bench!;
  const oldest = await listMessages(repo, reader, { conversationId, anchorSeq: 0, direction: "forward", pageSize });
  const correct = oldest.minSeq === expectedMinSeq && oldest.messages[0]?.seq === expectedMinSeq && oldest.messages.length === pageSize;
  return { deleted, seconds, passes, cpu, correct, seen: { firstSeq: oldest.messages[0]?.seq ?? 0, minSeq: oldest.minSeq } };
}

function figures(run: {
  seeding: SeedRun[];
  reads: Map<string, PageRun[]>;
  sweeps: SweepRun[];
  total: number;
  pagesPerWalk: number;
  quick: boolean;
  half: number;
}): Figure[] {
  const scenario = "history";
  const size = `${run.total >= 1_000_000 ? `${run.total / 1_000_000}M` : `${run.total / 1000}k`} msgs${run.quick ? " (quick; full run: 1M)" : ""}`;
  const label: Record<Walk, string> = {
    newest: "walking back from the newest",
    oldest: "walking forward from the oldest",
    random: "at random anchors (forward)",
  };
  const perWalk = (walk: Walk): Figure[] => {
    const domain = run.reads.get(`${walk}/domain`)!;
    const raw = run.reads.get(`${walk}/raw`)!;
    const pagesPerSecond = (xs: PageRun[]): number[] => xs.map((x) => x.pages / x.seconds);
    const at = (xs: PageRun[], q: number): number[] => xs.map((x) => 1000 * quantile(x.latencies, q));
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
        note: "domain function of HistoryService.ListMessages on the SQLite adapter",
      },
      {
        scenario,
        name: `listMessages messages/s ${label[walk]}`,
        unit: "msgs/s",
        rounds: domain.map((x) => x.messages / x.seconds),
        cpu: { bench: domain.map((x) => x.cpu) },
        baseline: { name: "raw SQL", value: median(raw.map((x) => x.messages / x.seconds)) },
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
  };
  const slice = Math.floor(run.half / run.sweeps.length);
  return [
    {
      scenario,
      name: `seeding one direct conversation, ${size} of ${textBytes} B text`,
      unit: "msgs/s",
      rounds: run.seeding.map((s) => s.messages / s.seconds),
      cpu: { bench: run.seeding.map((s) => s.cpu) },
      note: `repo.append in batches of ${appendBatch}, writer thread, synchronous=FULL, on disk; one round = the next ${(run.total / run.seeding.length).toLocaleString("en-US")} messages`,
    },
    ...walks.flatMap(perWalk),
    {
      scenario,
      name: `retention sweep, deleteExpired(now, ${sweepLimit}) until done, disappearing ttl ${ttlSeconds} s`,
      unit: "msgs/s",
      rounds: run.sweeps.map((s) => s.deleted / s.seconds),
      cpu: { bench: run.sweeps.map((s) => s.cpu) },
      note: `the oldest half (${run.half.toLocaleString("en-US")}) deleted, ~${slice.toLocaleString("en-US")} per round, after the reads above`,
    },
    {
      scenario,
      name: `retention sweep, p50 per pass of ${sweepLimit}`,
      unit: "ms",
      rounds: run.sweeps.map((s) => quantile(s.passes, 0.5)),
      cpu: {},
      note: `${median(run.sweeps.map((s) => s.passes.length))} passes per round`,
    },
    {
      scenario,
      name: `retention sweep, p99 per pass of ${sweepLimit}`,
      unit: "ms",
      rounds: run.sweeps.map((s) => quantile(s.passes, 0.99)),
      cpu: {},
    },
    {
      scenario,
      name: `sweeps deleting a wrong count or leaving the oldest page off the new min_seq`,
      unit: "rounds",
      rounds: run.sweeps.map((s) => (s.correct ? 0 : 1)),
      cpu: {},
      note: "listMessages forward from 0 after each sweep; must be 0",
    },
  ];
}
