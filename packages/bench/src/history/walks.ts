import type Database from "better-sqlite3";
import { listMessages, type HistoryRepository } from "@messenger/store";
import { CpuMeter } from "../process-stats.js";
import { seededRandom } from "../stats.js";
import { reader } from "./seed.js";

export const pageSize = 50;

export type Walk = "newest" | "oldest" | "random";
export const walks: readonly Walk[] = ["newest", "oldest", "random"];
/** The domain read path, or the raw SQL of the same page. */
export type Path = "domain" | "raw";

/** One measured walk of `pages` pages. */
export interface PageRun {
  readonly pages: number;
  readonly messages: number;
  readonly seconds: number;
  /** Per page, ms. */
  readonly latencies: number[];
  readonly cpu: number;
}

/** The seqs the conversation's messages span while the reads run. */
export interface Seqs {
  readonly first: number;
  readonly last: number;
}

/** Random anchors, drawn from a seed per round so every path reads the same pages. */
export function anchors(seqs: Seqs, round: number): () => number {
  const next = seededRandom(1_000 + round);
  return () => Math.floor(next() * (seqs.last - pageSize));
}

/**
 * Pages of 50 through the domain listMessages (what HistoryService.ListMessages runs): back
 * from the newest, forward from the oldest (each starting over at its end), or forward from
 * the round's random anchors. `repo` is the bare adapter or the one reading through the archive.
 */
export async function domainWalk(repo: HistoryRepository, conversationId: string, walk: Walk, pages: number, seqs: Seqs, round: number): Promise<PageRun> {
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

/** The same pages as domainWalk as raw SQL on a read-only connection to the same file. */
export function rawWalk(db: Database.Database, conversationId: string, walk: Walk, pages: number, seqs: Seqs, round: number): PageRun {
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
