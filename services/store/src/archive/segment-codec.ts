import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { ArchiveSegmentSchema, type ArchiveSegment } from "@messenger/proto/store/v1/archive_segment";
import { createHash } from "node:crypto";
import { promisify } from "node:util";
import { brotliCompress, brotliDecompress, constants } from "node:zlib";
import { messageToProto } from "../rpc/convert.js";
import type { MessageRecord } from "../storage/history-repository.js";
import type { SegmentExpectation } from "./segment-index.js";
import { messageFromProto } from "./segment-message.js";

const compress = promisify(brotliCompress);
const decompress = promisify(brotliDecompress);

/**
 * Brotli rather than gzip: it decompresses as fast and compresses smaller at the same CPU. On a
 * segment of 1,000 short chat messages (208 KB of protobuf, mostly UUIDs) quality 6 gave 74 KB
 * in 7 ms, gzip -9 80 KB in 10 ms; quality 11 gave 62 KB but took 400 ms, too much for a
 * backlog of millions of segments (docs/archive.md). zstd is not in node:zlib on every Node
 * this runs on (engines: >=22). Both directions run on libuv's thread pool (the async zlib
 * calls), never on the event loop.
 */
const BROTLI_QUALITY = 6;

/**
 * The most decompressed bytes a segment may claim per message it holds: a message is at most
 * ~66 KiB (16 Ki characters of text, or 64 KiB of ciphertext, plus ids), so this only stops a
 * decoding bug from allocating without bound. The checksum already rules out foreign bytes.
 */
const MAX_DECODED_BYTES_PER_MESSAGE = 256 * 1024;

/** A segment ready to store, with what its index entry records. */
export interface EncodedSegment {
  /** Brotli-compressed (quality 6) ArchiveSegment protobuf. */
  readonly bytes: Uint8Array;
  /** Hex sha256 of `bytes`. */
  readonly sha256: string;
  readonly fromSeq: number;
  readonly toSeq: number;
  readonly count: number;
  readonly firstSentAt: number;
  readonly lastSentAt: number;
}

/** Why a segment's bytes were refused; each is a different failure an operator looks into. */
export type SegmentCorruptReason =
  | "missing" // the index names a blob the store does not have
  | "size" // the blob's length is not the index's
  | "checksum" // its sha256 is not the index's
  | "decompress" // brotli refused the bytes
  | "decode" // not an ArchiveSegment protobuf
  | "header" // the segment names another conversation or range than its index entry
  | "message" // a message is malformed, of another conversation, outside the range or out of order
  | "count"; // it holds another number of messages than the index says

/**
 * A segment that cannot be trusted: reading it gives this error and never any of its messages.
 * The message names the segment's key, conversation and seq range.
 */
export class SegmentCorruptError extends Error {
  override readonly name = "SegmentCorruptError";

  constructor(
    readonly reason: SegmentCorruptReason,
    readonly segment: SegmentExpectation,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`archive segment ${segment.key ?? "(not yet stored)"} of conversation ${segment.conversationId}, seqs ${segment.fromSeq}..${segment.toSeq}: ${detail}`, options);
  }
}

/**
 * Encodes a conversation's messages (ascending, distinct seqs, all of `conversationId`) as one
 * segment covering the first to the last seq. Throws RangeError for anything else: the caller
 * must never archive a set it did not read in order.
 */
export async function encodeSegment(conversationId: string, messages: readonly MessageRecord[]): Promise<EncodedSegment> {
  const first = messages[0];
  const last = messages.at(-1);
  if (first === undefined || last === undefined) throw new RangeError("a segment needs at least one message");
  let previous = 0;
  let firstSentAt = first.sentAt;
  let lastSentAt = first.sentAt;
  for (const m of messages) {
    if (m.conversationId !== conversationId) {
      throw new RangeError(`message ${m.id} (seq ${m.seq}) is of conversation ${m.conversationId}, not ${conversationId}`);
    }
    if (!Number.isSafeInteger(m.seq) || m.seq <= previous) {
      throw new RangeError(`segment seqs must ascend strictly from 1: ${m.seq} follows ${previous}`);
    }
    previous = m.seq;
    firstSentAt = Math.min(firstSentAt, m.sentAt);
    lastSentAt = Math.max(lastSentAt, m.sentAt);
  }
  const segment = create(ArchiveSegmentSchema, {
    conversationId,
    fromSeq: BigInt(first.seq),
    toSeq: BigInt(last.seq),
    messages: messages.map(messageToProto),
  });
  const raw = toBinary(ArchiveSegmentSchema, segment);
  const bytes = new Uint8Array(
    await compress(raw, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
        [constants.BROTLI_PARAM_SIZE_HINT]: raw.byteLength,
      },
    }),
  );
  return { bytes, sha256: sha256Hex(bytes), fromSeq: first.seq, toSeq: last.seq, count: messages.length, firstSentAt, lastSentAt };
}

/**
 * The messages of a stored segment, ascending by seq, after checking in this order: the
 * checksum of the stored bytes (before anything parses them), decompression, the protobuf,
 * the header against the index entry, every message (its conversation, seqs strictly
 * ascending inside fromSeq..toSeq, a body and a sent time), and the count. Any failure throws
 * SegmentCorruptError with its reason; no message of a failed segment is ever returned.
 */
export async function decodeSegment(bytes: Uint8Array, expected: SegmentExpectation): Promise<MessageRecord[]> {
  const corrupt = (reason: SegmentCorruptReason, detail: string, cause?: unknown): SegmentCorruptError =>
    new SegmentCorruptError(reason, expected, detail, cause === undefined ? undefined : { cause });

  const actual = sha256Hex(bytes);
  if (actual !== expected.sha256) throw corrupt("checksum", `its sha256 is ${actual}, the index says ${expected.sha256}`);

  let raw: Uint8Array;
  try {
    // A plain Uint8Array view: bytes fields parsed from a Buffer would be Buffers, unlike the
    // Uint8Arrays the rest of the store hands out.
    const buffer = await decompress(bytes, { maxOutputLength: Math.max(1, expected.count) * MAX_DECODED_BYTES_PER_MESSAGE });
    raw = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  } catch (err) {
    throw corrupt("decompress", `brotli refused it (${(err as Error).message})`, err);
  }

  let segment: ArchiveSegment;
  try {
    segment = fromBinary(ArchiveSegmentSchema, raw);
  } catch (err) {
    throw corrupt("decode", `not an ArchiveSegment protobuf (${(err as Error).message})`, err);
  }

  if (segment.conversationId !== expected.conversationId || segment.fromSeq !== BigInt(expected.fromSeq) || segment.toSeq !== BigInt(expected.toSeq)) {
    throw corrupt("header", `it says conversation ${segment.conversationId}, seqs ${segment.fromSeq}..${segment.toSeq}`);
  }

  const records: MessageRecord[] = [];
  let previous = expected.fromSeq - 1;
  for (const [i, m] of segment.messages.entries()) {
    const record = messageFromProto(m);
    if (typeof record === "string") throw corrupt("message", `message #${i} (seq ${m.seq}) ${record}`);
    if (record.conversationId !== expected.conversationId) {
      throw corrupt("message", `message #${i} (seq ${record.seq}) is of conversation ${record.conversationId}`);
    }
    if (record.seq <= previous || record.seq > expected.toSeq) {
      throw corrupt("message", `message #${i} has seq ${record.seq} after ${previous}, outside ${expected.fromSeq}..${expected.toSeq} or out of order`);
    }
    previous = record.seq;
    records.push(record);
  }
  if (records.length !== expected.count) throw corrupt("count", `it holds ${records.length} messages, the index says ${expected.count}`);
  return records;
}

/** Hex sha256, the form index entries and keys carry. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}
