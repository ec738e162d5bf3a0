import type { BlobStore } from "@messenger/blobs";
import { readSegment } from "../archive/archive-segments.js";
import { createArchivedReads } from "../archive/archived-reads.js";
import { createSegmentCache, type SegmentCacheOptions } from "../archive/segment-cache.js";
import type { HistoryRepository } from "./history-repository.js";

/**
 * The repository with history reads that reach into archived segments: listMessages and
 * messagesAt answer as if nothing were archived (createArchivedReads), segments coming from
 * the blob store through one shared cache of decoded segments. Everything else is the
 * adapter's own.
 */
export function withArchivedReads(repo: HistoryRepository, blobs: BlobStore, cache: SegmentCacheOptions = {}): HistoryRepository {
  const segments = createSegmentCache((entry) => readSegment(blobs, entry), cache);
  const reads = createArchivedReads({
    index: (conversationId) => repo.segmentIndex(conversationId),
    segment: (entry) => segments.messages(entry),
    live: (conversationId, range) => repo.listMessages(conversationId, range),
    liveAt: (conversationId, seqs) => repo.messagesAt(conversationId, seqs),
  });
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
