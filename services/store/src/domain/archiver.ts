import type { BlobStore } from "@messenger/blobs";
import { archiveSegment, pruneSegment, removeUnlessIndexed } from "../archive/archive-segments.js";
import type { SegmentIndexEntry } from "../archive/segment-index.js";
import type { HistoryRepository } from "../storage/history-repository.js";
import { DomainError } from "./errors.js";

/** When history is archived: messages older than `olderThanMs`, in full segments of `segmentMessages`. */
export interface ArchiveSettings {
  readonly olderThanMs: number;
  readonly segmentMessages: number;
}

export const defaultArchiveSettings: ArchiveSettings = { olderThanMs: 30 * 24 * 3600 * 1000, segmentMessages: 1_000 };

/** What one archiving run did. */
export interface ArchiveRun {
  readonly segments: number;
  readonly messages: number;
  readonly bytes: number;
  /** Segments written but not committed because their rows changed meanwhile (their blobs were removed). */
  readonly conflicts: number;
  /** True when `maxSegments` stopped the run before every candidate was archived. */
  readonly more: boolean;
}

const candidatePage = 100;

/**
 * Archives old history: for each permanent conversation with a full segment of live
 * messages above its archive boundary, all older than the cut-off, writes the segment to the
 * blob store, verifies it (archiveSegment reads it back), then commits it, which deletes the
 * rows in the same write. A commit refused because the rows changed (a retention change
 * deleted some) removes the blob; the conversation is looked at again on the next run.
 */
export async function archiveOldHistory(
  repo: HistoryRepository,
  blobs: BlobStore,
  opts: ArchiveSettings & { now: number; maxSegments: number; onSegment?: (entry: SegmentIndexEntry) => void },
): Promise<ArchiveRun> {
  const cutoff = opts.now - opts.olderThanMs;
  let segments = 0;
  let messages = 0;
  let bytes = 0;
  let conflicts = 0;
  let after = "";
  for (;;) {
    const page = await repo.archiveCandidates(after, candidatePage, opts.segmentMessages);
    for (const candidate of page) {
      // One conversation may hold many segments' worth: archive them in order while they qualify.
      for (let fromSeq = candidate.fromSeq; ; ) {
        if (segments >= opts.maxSegments) return { segments, messages, bytes, conflicts, more: true };
        const rows = await repo.listMessages(candidate.conversationId, { afterSeq: fromSeq - 1, limit: opts.segmentMessages, direction: "forward" });
        const full = rows.length === opts.segmentMessages && rows[0]!.seq === fromSeq && rows.at(-1)!.seq === fromSeq + opts.segmentMessages - 1;
        if (!full || rows.at(-1)!.sentAt >= cutoff) break;
        const entry = await archiveSegment(blobs, candidate.conversationId, rows, repo);
        try {
          await repo.commitSegment(entry);
        } catch (err) {
          await removeUnlessIndexed(repo, blobs, entry);
          if (err instanceof DomainError && (err.kind === "aborted" || err.kind === "failed_precondition")) {
            conflicts++;
            break;
          }
          throw err;
        }
        segments++;
        messages += entry.count;
        bytes += entry.bytes;
        opts.onSegment?.(entry);
        fromSeq = entry.toSeq + 1;
      }
    }
    if (page.length < candidatePage) return { segments, messages, bytes, conflicts, more: false };
    after = page.at(-1)!.conversationId;
  }
}

/** What one collection of deleted archive did. */
export interface ArchiveCollection {
  /** Segments dropped whole, and rewritten without what retention deleted. */
  readonly dropped: number;
  readonly rewritten: number;
  /** Blobs deleted from the blob store. */
  readonly blobsDeleted: number;
}

/**
 * Makes retention's deletions reach the archive: every segment that starts below its
 * conversation's min_seq is dropped (wholly below) or rewritten with only the messages at or
 * above it, under a new key, and the index swapped in one write that puts the old key on the
 * garbage list; then the garbage blobs are deleted and forgotten. A crash anywhere leaves
 * either the old index entry (done again next time) or a garbage key (deleted next time): a
 * deleted message never stays in a blob the index names, and never in one for long.
 */
export async function collectArchive(repo: HistoryRepository, blobs: BlobStore, opts: { limit: number }): Promise<ArchiveCollection> {
  let dropped = 0;
  let rewritten = 0;
  for (const s of await repo.segmentsBelowMinSeq(opts.limit)) {
    const c = await repo.getConversation(s.conversationId);
    const minSeq = c?.minSeq ?? Number.MAX_SAFE_INTEGER;
    // A segment here starts below min_seq (its fromSeq is its first message's), so some of it goes: emptied or rewritten.
    const pruned = s.toSeq >= minSeq ? await pruneSegment(blobs, s, (m) => m.seq >= minSeq, repo) : undefined;
    const replacement: SegmentIndexEntry | undefined = pruned?.outcome === "rewritten" ? pruned.entry : undefined;
    try {
      await repo.replaceSegment(s, replacement);
    } catch (err) {
      // Another collector swapped it first: what this one wrote is nobody's, unless it is the
      // very blob the other one committed (see removeUnlessIndexed).
      if (replacement) await removeUnlessIndexed(repo, blobs, replacement);
      if (err instanceof DomainError && err.kind === "aborted") continue;
      throw err;
    }
    if (replacement) rewritten++;
    else dropped++;
  }
  let blobsDeleted = 0;
  for (let keys = await repo.archiveGarbage(opts.limit); keys.length > 0; keys = await repo.archiveGarbage(opts.limit)) {
    await blobs.remove(keys);
    await repo.forgetGarbage(keys);
    blobsDeleted += keys.length;
    if (keys.length < opts.limit) break;
  }
  return { dropped, rewritten, blobsDeleted };
}
