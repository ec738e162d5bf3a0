import { readdirSync } from "node:fs";
import type { BlobStore } from "@messenger/blobs";
import { listMessages, type HistoryRepository } from "@messenger/store";
import { CpuMeter } from "../process-stats.js";
import { epoch, reader } from "./seed.js";
import { collectArchive, retentionPass } from "@messenger/store";
import { pageSize } from "./walks.js";

export const ttlSeconds = 300;
export const sweepLimit = 1_000;
/** What the store's sweeper passes collectArchive after each retention pass. */
const collectLimit = 100;
/** No store-and-forward conversation exists here: nobody's devices are asked about. */
const noDevices = { devicesOf: async () => [] };

/** One round of the retention sweeper over its slice of the oldest half. */
export interface SweepRun {
  readonly deleted: number;
  readonly seconds: number;
  /** Per pass (retentionPass, then collectArchive), ms. */
  readonly passes: number[];
  readonly cpu: number;
  /** Segments the collections dropped whole and rewrote, and blobs they deleted. */
  readonly dropped: number;
  readonly rewritten: number;
  readonly blobsDeleted: number;
  /**
   * Passes that answered more = false although the next one still found messages due: the
   * store's sweeper would then wait its interval (RETENTION_SWEEP_INTERVAL_MS) before going on.
   */
  readonly idleWithDue: number;
  /** The oldest page after the sweep starts at the new min_seq (and the head says so), and nothing archived lies below it. */
  readonly correct: boolean;
  /** What the read after the sweep saw: its first seq (0 for an empty page), min_seq, segments left below it, and segment files against index entries. */
  readonly seen: { readonly firstSeq: number; readonly minSeq: number; readonly below: number; readonly files: number; readonly indexed: number };
}

/** The segment files a local blob store holds under `dir`. */
function segmentFiles(dir: string): number {
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".seg")).length;
}

/**
 * Deletes every message sent before message `dueBefore` the way the store's sweeper does:
 * retentionPass (deleteExpired on live rows, then the archived prefix read through the
 * archive and deleted with deleteThrough) followed by collectArchive (segments below min_seq
 * dropped or rewritten, their blobs deleted), pass after pass back to back until one deletes
 * nothing; then reads the oldest page through the domain: it must start at `expectedMinSeq`.
 * `repo` reads through the archive, as the store's does.
 */
export async function sweep(
  repo: HistoryRepository,
  blobs: { store: BlobStore; dir: string },
  conversationId: string,
  dueBefore: number,
  expectedMinSeq: number,
): Promise<SweepRun> {
  const now = epoch + dueBefore + ttlSeconds * 1000;
  const pass = retentionPass(repo, noDevices, 30 * 24 * 3600 * 1000);
  const passes: number[] = [];
  let deleted = 0;
  let dropped = 0;
  let rewritten = 0;
  let blobsDeleted = 0;
  let idleWithDue = 0;
  let saidDone = false;
  const meter = new CpuMeter({ bench: process.pid });
  const t0 = performance.now();
  for (;;) {
    const p0 = performance.now();
    const out = await pass(now, sweepLimit);
    const collected = await collectArchive(repo, blobs.store, { limit: collectLimit });
    if (out.deleted === 0 && collected.dropped + collected.rewritten + collected.blobsDeleted === 0) break;
    passes.push(performance.now() - p0);
    if (saidDone && out.deleted > 0) idleWithDue++;
    saidDone = !out.more;
    deleted += out.deleted;
    dropped += collected.dropped;
    rewritten += collected.rewritten;
    blobsDeleted += collected.blobsDeleted;
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = meter.read().bench!;
  const oldest = await listMessages(repo, reader, { conversationId, anchorSeq: 0, direction: "forward", pageSize });
  const below = (await repo.segmentsBelowMinSeq(collectLimit)).length;
  const files = segmentFiles(blobs.dir);
  const indexed = (await repo.segmentIndex(conversationId)).length;
  const correct =
    oldest.minSeq === expectedMinSeq && oldest.messages[0]?.seq === expectedMinSeq && oldest.messages.length === pageSize && below === 0 && files === indexed;
  return {
    deleted,
    seconds,
    passes,
    cpu,
    dropped,
    rewritten,
    blobsDeleted,
    idleWithDue,
    correct,
    seen: { firstSeq: oldest.messages[0]?.seq ?? 0, minSeq: oldest.minSeq, below, files, indexed },
  };
}
