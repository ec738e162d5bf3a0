import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { openLocalBlobStore } from "@messenger/blobs";
import { openSqliteHistoryRepository } from "@messenger/store";
import { archivedWalk } from "../history/archived-walks.js";
import { archiveHistory, differing, probes, readProbes, segmentLoads, type SegmentLoads } from "../history/archive.js";
import { figures } from "../history/figures.js";
import { reader, epoch, seed, type SeedRun } from "../history/seed.js";
import { withArchivedReads } from "@messenger/store";
import { sweep, ttlSeconds, type SweepRun } from "../history/sweep.js";
import { domainWalk, rawWalk, walks, type PageRun, type Path, type Seqs } from "../history/walks.js";
import type { Figure } from "../report.js";
import type { ScenarioContext } from "../scenario.js";
import { quantile } from "../stats.js";

const warmupPages = 500;
/** The newest messages the archiver leaves live (one segment's worth). */
const keptLive = 1_000;
const probeCount = 300;
const loadSamples = 100;
/**
 * A pass from either end through the archive reads the 20,000 messages the default segment
 * cache holds (from the newest: the live ones, then 19 segments), so a second pass is warm.
 */
const endArchivedPages = 400;
const endPasses = 5;

const fmt = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const describe = (run: PageRun): string =>
  `${run.pages} pages in ${run.seconds.toFixed(2)} s = ${fmt(run.pages / run.seconds)} pages/s, ${fmt(run.messages / run.seconds)} msgs/s, p50 ${fmt(1000 * quantile(run.latencies, 0.5))} µs p99 ${fmt(1000 * quantile(run.latencies, 0.99))} µs, CPU ${fmt(run.cpu)}%`;

/**
 * History at scale, in-process on the real SQLite adapter (a file in a temp dir on disk,
 * writer thread with synchronous=FULL): seeding one direct conversation in batches; pages of
 * 50 through the domain listMessages (what HistoryService.ListMessages runs) from the newest,
 * from the oldest and at random anchors, each against the raw SQL of one page on a read-only
 * better-sqlite3 connection to the same file in the same round. Then the archive: all but the
 * newest 1,000 messages archived into a local blob store (archiveOldHistory, segments of
 * 1,000); sample pages compared with what they read before; the same walks through
 * withArchivedReads (the store's read path) with the segment cache cold and warm; first reads
 * of distinct segments. Last the retention sweeper as the store runs it (retentionPass, then
 * collectArchive) deleting the oldest half, now archived, a slice per round, each followed by
 * a check that the oldest page starts at the new min_seq and no segment is left below it.
 */
export async function history(ctx: ScenarioContext): Promise<Figure[]> {
  const total = ctx.quick ? 100_000 : 1_000_000;
  const rounds = ctx.rounds;
  const pagesPerWalk = ctx.quick ? 10_000 : 20_000;
  const randomArchivedPages = ctx.quick ? 500 : 1_000;
  const dir = mkdtempSync(join(tmpdir(), "bench-history-"));
  const path = join(dir, "history.db");
  const repo = openSqliteHistoryRepository(path);
  const blobDir = join(dir, "archive");
  const blobs = openLocalBlobStore({ dir: blobDir, secret: new Uint8Array(32), publicBaseUrl: () => "" });
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
    const seqs: Seqs = { first: firstSeq, last: firstSeq + total - 1 };
    raw = new Database(path, { readonly: true });
    // Unmeasured: the first walk after seeding otherwise pays the JIT and a cold page cache.
    for (const walk of walks) {
      await domainWalk(repo, conv.id, walk, warmupPages, seqs, 0);
      rawWalk(raw, conv.id, walk, warmupPages, seqs, 0);
    }
    const reads = new Map<string, PageRun[]>();
    const add = <T>(into: Map<string, T[]>, key: string, x: T): void => void into.set(key, [...(into.get(key) ?? []), x]);
    for (let r = 0; r < rounds; r++) {
      // Both paths in every round on the same anchors; which goes first alternates.
      const order: Path[] = r % 2 === 0 ? ["domain", "raw"] : ["raw", "domain"];
      for (const walk of walks) {
        for (const p of order) {
          const run = p === "domain" ? await domainWalk(repo, conv.id, walk, pagesPerWalk, seqs, r) : rawWalk(raw, conv.id, walk, pagesPerWalk, seqs, r);
          add(reads, `${walk}/${p}`, run);
          ctx.log(`history round ${r + 1}, ${walk} via ${p}: ${describe(run)}`);
        }
      }
    }

    // The same sample pages are read again through the archive and must answer the same.
    const liveFrom = seqs.first + total - keptLive;
    const samples = Array.from({ length: rounds }, (_, r) => probes(seqs, liveFrom, probeCount, r));
    const before = await Promise.all(samples.map((pages) => readProbes(repo, conv.id, pages)));
    const archiving = await archiveHistory(repo, blobs, raw, { keepFrom: total - keptLive, rounds });
    for (const [r, a] of archiving.runs.entries()) {
      ctx.log(
        `history archiving ${r + 1}: ${a.segments} segments, ${a.messages.toLocaleString("en-US")} messages in ${a.seconds.toFixed(2)} s = ${fmt(a.messages / a.seconds)} msgs/s, ${fmt(a.segments / a.seconds)} segments/s, ${(a.bytes / 1e6).toFixed(1)} MB (${fmt(a.bytes / a.messages)} B/msg), p50 ${fmt(quantile(a.perSegment, 0.5))} ms per segment, CPU ${fmt(a.cpu)}%`,
      );
    }
    const archivedCount = archiving.runs.reduce((n, a) => n + a.messages, 0);
    if (archivedCount !== total - keptLive) ctx.log(`history: FAILED: archived ${archivedCount} messages, expected ${total - keptLive}`);
    const mismatches: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const after = await readProbes(withArchivedReads(repo, blobs), conv.id, samples[r]!);
      const bad = differing(before[r]!, after);
      mismatches.push(bad.length + (archivedCount === total - keptLive ? 0 : 1));
      for (const i of bad.slice(0, 5)) {
        const p = samples[r]![i]!;
        ctx.log(`history: FAILED: the page ${p.direction} from ${p.anchor} read seqs ${after[i]!.seqs[0]}..${after[i]!.seqs.at(-1)} archived, ${before[r]![i]!.seqs[0]}..${before[r]![i]!.seqs.at(-1)} before`);
      }
    }

    const archivedReads = new Map<string, PageRun[]>();
    const segmentReads = new Map<string, number[]>();
    const loads: SegmentLoads[] = [];
    for (let r = 0; r < rounds; r++) {
      for (const walk of walks) {
        const pages = walk === "random" ? randomArchivedPages : endArchivedPages;
        const run = await archivedWalk(repo, blobs, conv.id, walk, { pages, passes: endPasses, seqs, round: r });
        for (const cache of ["cold", "warm"] as const) {
          add(archivedReads, `${walk}/${cache}`, run[cache]);
          add(segmentReads, `${walk}/${cache}`, run.loads[cache]);
          ctx.log(`history round ${r + 1}, archived, ${walk}, cache ${cache}: ${describe(run[cache])}, ${run.loads[cache]} segments loaded`);
        }
      }
      const l = await segmentLoads(repo, blobs, conv.id, r, loadSamples);
      loads.push(l);
      ctx.log(`history round ${r + 1}, first page of ${l.cold.length} segments: p50 ${fmt(quantile(l.cold, 0.5))} ms p99 ${fmt(quantile(l.cold, 0.99))} ms; again, cached: p50 ${fmt(quantile(l.cached, 0.5))} ms`);
    }

    const archived = withArchivedReads(repo, blobs);
    await repo.setRetention({ conversationId: conv.id, actorUserId: reader, retention: { mode: "disappearing", ttlSeconds }, now: epoch + total });
    const half = Math.floor(total / 2);
    const sweeps: SweepRun[] = [];
    for (let r = 0; r < rounds; r++) {
      const from = Math.floor((r * half) / rounds);
      const to = Math.floor(((r + 1) * half) / rounds);
      const s = await sweep(archived, { store: blobs, dir: blobDir }, conv.id, to, firstSeq + to);
      // A wrong count fails the round as surely as a wrong first page.
      sweeps.push({ ...s, correct: s.correct && s.deleted === to - from });
      if (s.deleted !== to - from) ctx.log(`history: FAILED: the sweep deleted ${s.deleted} messages, ${to - from} were due`);
      if (!s.correct) {
        ctx.log(
          `history: FAILED: after the sweep the oldest page starts at seq ${s.seen.firstSeq} with min_seq ${s.seen.minSeq} (both should be ${firstSeq + to}); ${s.seen.below} segments below min_seq, ${s.seen.files} segment files for ${s.seen.indexed} index entries`,
        );
      }
      if (s.idleWithDue > 0) ctx.log(`history: FAILED: ${s.idleWithDue} sweep passes said done while archived messages were still due`);
      ctx.log(
        `history sweep ${r + 1}: ${s.deleted.toLocaleString("en-US")} deleted in ${s.seconds.toFixed(2)} s = ${fmt(s.deleted / s.seconds)}/s, ${s.passes.length} passes, p50 ${fmt(quantile(s.passes, 0.5))} ms p99 ${fmt(quantile(s.passes, 0.99))} ms, ${s.dropped} segments dropped, ${s.rewritten} rewritten, ${s.blobsDeleted} blobs deleted, CPU ${fmt(s.cpu)}%`,
      );
    }
    return figures({
      seeding,
      reads,
      archiving,
      archivedReads,
      segmentReads,
      loads,
      mismatches,
      probes: probeCount,
      sweeps,
      total,
      keptLive,
      pagesPerWalk,
      archivedPages: { ends: `${endPasses} passes of ${endArchivedPages}`, random: randomArchivedPages },
      quick: ctx.quick,
      half,
    });
  } finally {
    raw?.close();
    await repo.close();
    await blobs.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
