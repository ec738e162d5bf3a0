import { LRUCache } from "lru-cache";
import type { MessageRecord } from "../storage/history-repository.js";
import type { SegmentIndexEntry } from "./segment-index.js";

/** Decoded segments, shared by every history read of the process. */
export interface SegmentCache {
  /**
   * The segment's messages, ascending. Concurrent calls for one segment load it once; a load
   * that fails is not kept, so the next call tries again (and fails again if the blob is still
   * corrupt). The array is frozen: callers share it.
   */
  messages(entry: SegmentIndexEntry): Promise<readonly MessageRecord[]>;
}

export interface SegmentCacheOptions {
  /**
   * The most messages kept decoded, over all segments: memory is about what the messages
   * weigh (a full segment of 1,000 short texts holds ~0.5 MB of objects). A segment larger than
   * this is loaded for the read that asked and not kept.
   * @default 20_000
   */
  readonly maxMessages?: number;
}

/**
 * An LRU of decoded segments in front of `load` (blob read + decode), keyed by blob key: a key
 * names one content for ever (segmentKey), so an entry never goes stale; a rewritten range
 * has a new key and its old entry ages out.
 */
export function createSegmentCache(
  load: (entry: SegmentIndexEntry) => Promise<readonly MessageRecord[]>,
  options: SegmentCacheOptions = {},
): SegmentCache {
  const maxMessages = options.maxMessages ?? 20_000;
  if (!Number.isSafeInteger(maxMessages) || maxMessages < 1) throw new RangeError(`maxMessages must be a positive integer, got ${maxMessages}`);
  const cache = new LRUCache<string, readonly MessageRecord[], SegmentIndexEntry>({
    maxSize: maxMessages,
    // lru-cache refuses a size of 0; an empty segment does not exist, but costs a slot if one did.
    sizeCalculation: (messages) => Math.max(1, messages.length),
    // A load evicted while in flight still answers the readers waiting on it.
    ignoreFetchAbort: true,
    fetchMethod: async (_key, _stale, { context }) => Object.freeze([...(await load(context))]),
  });
  return {
    async messages(entry) {
      const messages = await cache.fetch(entry.key, { context: entry });
      // fetchMethod always returns an array or throws; undefined would be a bug of ours.
      if (messages === undefined) throw new Error(`segment cache returned nothing for ${entry.key}`);
      return messages;
    },
  };
}
