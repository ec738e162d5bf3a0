/**
 * One archived segment as the conversation's segment index keeps it: where its bytes are,
 * what they must hash to, and what they hold. The index, not the blob, is the truth: a blob
 * that disagrees with its entry is corrupt.
 */
export interface SegmentIndexEntry extends SegmentExpectation {
  /** The conversation whose messages it holds. */
  readonly conversationId: string;
  /** First seq the segment covers (inclusive). */
  readonly fromSeq: number;
  /** Last seq the segment covers (inclusive); every message of it lies in fromSeq..toSeq. */
  readonly toSeq: number;
  /** The blob key (segmentKey). */
  readonly key: string;
  /** Hex sha256 of the stored (compressed) bytes. */
  readonly sha256: string;
  /** How many messages it holds (seqs missing from the range were deleted before archiving). */
  readonly count: number;
  /** Size of the stored bytes. */
  readonly bytes: number;
  /** Earliest and latest sentAt of its messages (epoch ms), for retention and for "older than" archiving. */
  readonly firstSentAt: number;
  readonly lastSentAt: number;
}

/** What decoding a segment checks its bytes against: the index entry, or the parts of it known before writing. */
export interface SegmentExpectation {
  /** For error messages; absent before the segment has a key. */
  readonly key?: string;
  readonly conversationId: string;
  readonly fromSeq: number;
  readonly toSeq: number;
  readonly sha256: string;
  readonly count: number;
}

/** Conversation ids made by this system (dm_…, grp_…) are key-safe and used as they are. */
const KEY_SAFE_ID = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * The blob key of a segment: `archive/v1/<conversation>/<fromSeq>-<toSeq>-<sha256 first 16>.seg`.
 * The content hash is part of the key, so rewriting a range (after a retention deletion) makes
 * a new object and never replaces bytes a reader may be fetching; the old one is removed once
 * the index no longer names it. An id outside [A-Za-z0-9_-] (which every blob store takes as a
 * path segment) is written as `x.` and its UTF-8 hex; a plain id never contains ".", so the two
 * forms cannot collide.
 */
export function segmentKey(conversationId: string, fromSeq: number, toSeq: number, sha256: string): string {
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new TypeError(`segment sha256 must be 64 lower-case hex digits, got ${JSON.stringify(sha256)}`);
  const conversation = KEY_SAFE_ID.test(conversationId) ? conversationId : `x.${Buffer.from(conversationId, "utf8").toString("hex")}`;
  return `archive/v1/${conversation}/${fromSeq}-${toSeq}-${sha256.slice(0, 16)}.seg`;
}
