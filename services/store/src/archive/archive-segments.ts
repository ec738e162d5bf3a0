import type { BlobStore } from "@messenger/blobs";
import type { Readable } from "node:stream";
import type { MessageRecord } from "../storage/history-repository.js";
import { decodeSegment, encodeSegment, SegmentCorruptError } from "./segment-codec.js";
import { segmentKey, type SegmentIndexEntry } from "./segment-index.js";

/** The Content-Type segments are stored with (brotli-compressed messenger.store.v1.ArchiveSegment). */
export const segmentContentType = "application/vnd.messenger.archive-segment.v1+brotli";

/** The conversation's segment index as far as removing a blob goes (HistoryRepository.segmentIndex). */
export interface SegmentIndexReader {
  segmentIndex(conversationId: string): Promise<SegmentIndexEntry[]>;
}

/**
 * Removes the blob of a segment this archiver wrote but will not commit, unless the index
 * names it. Keys are content-addressed: two archivers (store replicas, or the store and
 * `npm run archive`) that read the same rows write the same bytes under the same key, so the
 * blob one of them gives up may be the very one the other committed.
 */
export async function removeUnlessIndexed(index: SegmentIndexReader, blobs: BlobStore, entry: SegmentIndexEntry): Promise<void> {
  const named = await index.segmentIndex(entry.conversationId);
  if (named.some((e) => e.key === entry.key)) return;
  await blobs.remove([entry.key]);
}

/**
 * Writes a conversation's messages (ascending seqs, all of that conversation) as one segment,
 * reads it back and decodes it, and returns its index entry. Only a segment that read back
 * whole and identical is returned; on any failure the error is thrown and the blob removed,
 * unless `index` names its key (another archiver committed the same segment; see
 * removeUnlessIndexed). Removal is best effort: a blob that cannot be removed, or whose index
 * cannot be read, is an orphan no index names, for a sweep. Without `index` (no other writer
 * can commit the segment) the blob is always removed. The caller then commits the entry and
 * deletes the archived rows in one transaction; until then nothing reads the blob.
 */
export async function archiveSegment(blobs: BlobStore, conversationId: string, messages: readonly MessageRecord[], index?: SegmentIndexReader): Promise<SegmentIndexEntry> {
  const encoded = await encodeSegment(conversationId, messages);
  const entry: SegmentIndexEntry = {
    conversationId,
    fromSeq: encoded.fromSeq,
    toSeq: encoded.toSeq,
    key: segmentKey(conversationId, encoded.fromSeq, encoded.toSeq, encoded.sha256),
    sha256: encoded.sha256,
    count: encoded.count,
    bytes: encoded.bytes.byteLength,
    firstSentAt: encoded.firstSentAt,
    lastSentAt: encoded.lastSentAt,
  };
  try {
    await blobs.write(entry.key, encoded.bytes, entry.bytes, segmentContentType);
    const back = await readSegment(blobs, entry);
    const differs = back.findIndex((m, i) => m.id !== messages[i]?.id || m.seq !== messages[i]?.seq);
    if (differs !== -1) throw new SegmentCorruptError("message", entry, `reads back message ${back[differs]?.id} at #${differs}, not the one written`);
  } catch (err) {
    await (index ? removeUnlessIndexed(index, blobs, entry) : blobs.remove([entry.key])).catch(() => undefined);
    throw err;
  }
  return entry;
}

/**
 * A stored segment's messages, verified against its index entry (decodeSegment). A blob the
 * store does not have is SegmentCorruptError "missing", one of another length "size"; a
 * failure to reach the store is thrown as it is (it may pass; a corrupt segment will not).
 */
export async function readSegment(blobs: BlobStore, entry: SegmentIndexEntry): Promise<MessageRecord[]> {
  let stream: Readable;
  try {
    stream = await blobs.read(entry.key);
  } catch (err) {
    if ((await blobs.stat(entry.key)) === undefined) {
      throw new SegmentCorruptError("missing", entry, "the blob store has no such object", { cause: err });
    }
    throw err;
  }
  return decodeSegment(await readExactly(stream, entry), entry);
}

/** The stream's bytes, refused as soon as they outgrow the index's size, or at the end if short. */
async function readExactly(stream: Readable, entry: SegmentIndexEntry): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    const buffer = chunk as Buffer;
    total += buffer.byteLength;
    if (total > entry.bytes) {
      stream.destroy();
      throw new SegmentCorruptError("size", entry, `the blob is longer than the ${entry.bytes} bytes the index says`);
    }
    chunks.push(buffer);
  }
  if (total !== entry.bytes) throw new SegmentCorruptError("size", entry, `the blob has ${total} bytes, the index says ${entry.bytes}`);
  const bytes = Buffer.concat(chunks, total);
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** What pruneSegment leaves of a segment. */
export type PrunedSegment =
  | { readonly outcome: "unchanged" }
  | { readonly outcome: "emptied"; readonly deleted: number }
  | { readonly outcome: "rewritten"; readonly entry: SegmentIndexEntry; readonly deleted: number };

/**
 * Retention inside the archive: the segment without the messages `keep` refuses. When some
 * go and some stay, the rest is written as a new segment (a new key: the old blob stays
 * readable meanwhile). The caller then, in one transaction, replaces the old index entry with
 * the new one (or drops it when emptied) and moves min_seq; and only after that removes the
 * old blob, so a read holding the old index finds it or starts over (createArchivedReads).
 * `index` is archiveSegment's, for the rewrite.
 */
export async function pruneSegment(blobs: BlobStore, entry: SegmentIndexEntry, keep: (m: MessageRecord) => boolean, index?: SegmentIndexReader): Promise<PrunedSegment> {
  const messages = await readSegment(blobs, entry);
  const kept = messages.filter(keep);
  const deleted = messages.length - kept.length;
  if (deleted === 0) return { outcome: "unchanged" };
  if (kept.length === 0) return { outcome: "emptied", deleted };
  return { outcome: "rewritten", entry: await archiveSegment(blobs, entry.conversationId, kept, index), deleted };
}
