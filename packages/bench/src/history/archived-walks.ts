import type { BlobStore } from "@messenger/blobs";
import type { HistoryRepository } from "@messenger/store";
import { withArchivedReads } from "@messenger/store";
import { domainWalk, type PageRun, type Seqs, type Walk } from "./walks.js";

/** The reads of one walk through the archive in one round, with the segment cache cold and warm. */
export interface ArchivedWalkRun {
  readonly cold: PageRun;
  readonly warm: PageRun;
  /** Segments read from the blob store during the cold and the warm passes. */
  readonly loads: { readonly cold: number; readonly warm: number };
}

/** The blob store, counting the blobs read from it. */
function counting(blobs: BlobStore): { store: BlobStore; reads: () => number } {
  let reads = 0;
  const store = new Proxy(blobs, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      const method = (value as (...args: unknown[]) => unknown).bind(target);
      return prop === "read" ? (...args: unknown[]) => (reads++, method(...args)) : method;
    },
  });
  return { store, reads: () => reads };
}

/** Several runs as one: pages, messages and time added, latencies pooled, CPU weighted by time. */
function pooled(runs: readonly PageRun[]): PageRun {
  const seconds = runs.reduce((n, r) => n + r.seconds, 0);
  return {
    pages: runs.reduce((n, r) => n + r.pages, 0),
    messages: runs.reduce((n, r) => n + r.messages, 0),
    seconds,
    latencies: runs.flatMap((r) => r.latencies),
    cpu: runs.reduce((n, r) => n + r.cpu * r.seconds, 0) / seconds,
  };
}

/**
 * The walk through withArchivedReads, the store's read path. From either end: `passes` passes
 * of `pages` pages, each on a fresh withArchivedReads (cold: every segment the pass reaches
 * is loaded once), then as many passes again on the last one (warm: the pass fits the
 * default cache, so nothing is loaded). At random anchors: one pass of `pages` on a fresh one
 * and the same anchors again on it (the cache holds 20 of the conversation's segments, so the
 * second pass mostly loads again: that is the figure).
 */
export async function archivedWalk(
  repo: HistoryRepository,
  blobs: BlobStore,
  conversationId: string,
  walk: Walk,
  opts: { pages: number; passes: number; seqs: Seqs; round: number },
): Promise<ArchivedWalkRun> {
  const passes = walk === "random" ? 1 : opts.passes;
  const counted = counting(blobs);
  const cold: PageRun[] = [];
  let archived = repo;
  for (let i = 0; i < passes; i++) {
    archived = withArchivedReads(repo, counted.store);
    cold.push(await domainWalk(archived, conversationId, walk, opts.pages, opts.seqs, opts.round));
  }
  const coldLoads = counted.reads();
  const warm: PageRun[] = [];
  for (let i = 0; i < passes; i++) warm.push(await domainWalk(archived, conversationId, walk, opts.pages, opts.seqs, opts.round));
  return { cold: pooled(cold), warm: pooled(warm), loads: { cold: coldLoads, warm: counted.reads() - coldLoads } };
}
