import type { BlobStore } from "@messenger/blobs";
import { readSegment } from "../archive/archive-segments.js";
import { createArchivedReads } from "../archive/archived-reads.js";
import { createSegmentCache, type SegmentCacheOptions } from "../archive/segment-cache.js";
import { SegmentCorruptError } from "../archive/segment-codec.js";
import { DomainError } from "../domain/errors.js";
import type { HistoryRepository } from "./history-repository.js";

/**
 * The repository with history reads that reach into archived segments: listMessages and
 * messagesAt answer as if nothing were archived (createArchivedReads), segments coming from
 * the blob store through one shared cache of decoded segments. Everything else is the
 * adapter's own.
 */
export function withArchivedReads(
  repo: HistoryRepository,
  blobs: BlobStore,
  opts: { cache?: SegmentCacheOptions; onCorrupt?: (err: SegmentCorruptError) => void } = {},
): HistoryRepository {
  const segments = createSegmentCache((entry) => readSegment(blobs, entry), opts.cache);
  const archived = createArchivedReads({
    index: (conversationId) => repo.segmentIndex(conversationId),
    segment: (entry) => segments.messages(entry),
    live: (conversationId, range) => repo.listMessages(conversationId, range),
    liveAt: (conversationId, seqs) => repo.messagesAt(conversationId, seqs),
  });
  /**
   * A segment that cannot be trusted fails the read with DATA_LOSS naming the seqs (the blob
   * key and the cause go to onCorrupt, for the operator), never with a partial page.
   */
  const guarded = <A extends unknown[], R>(read: (...args: A) => Promise<R>) => async (...args: A): Promise<R> => {
    try {
      return await read(...args);
    } catch (err) {
      if (!(err instanceof SegmentCorruptError)) throw err;
      opts.onCorrupt?.(err);
      const { fromSeq, toSeq } = err.segment;
      throw new DomainError("data_loss", `messages ${fromSeq} to ${toSeq} of this conversation are archived and cannot be read back intact (${err.reason})`, { cause: err });
    }
  };
  const reads = { listMessages: guarded(archived.listMessages), messagesAt: guarded(archived.messagesAt) };
  // A proxy, not a copy: an adapter may keep its methods on a prototype.
  return new Proxy(repo, {
    get(target, prop) {
      if (prop === "listMessages") return reads.listMessages;
      if (prop === "messagesAt") return reads.messagesAt;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
