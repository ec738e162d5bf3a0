import type { MessageRange, MessageRecord } from "../storage/history-repository.js";
import { SegmentCorruptError } from "./segment-codec.js";
import type { SegmentIndexEntry } from "./segment-index.js";

/**
 * What reads over an archived conversation need from the adapter. The invariant the archive
 * keeps: every segment lies strictly below every live row (a segment is committed together
 * with the deletion of its rows, and only the oldest rows are archived), and segments are
 * appended above the ones before. Retention may delete rows, segments, or rewrite segments
 * under new keys; the index then no longer names the old ones.
 */
export interface ArchiveReadSource {
  /** The conversation's segment index, ascending by fromSeq, as committed now (never cached). */
  index(conversationId: string): Promise<readonly SegmentIndexEntry[]>;
  /** A segment's messages, ascending (through the segment cache); SegmentCorruptError when it cannot be trusted. */
  segment(entry: SegmentIndexEntry): Promise<readonly MessageRecord[]>;
  /** The live table's page: HistoryRepository.listMessages. */
  live(conversationId: string, range: MessageRange): Promise<MessageRecord[]>;
  /** The live table's messages at the seqs: HistoryRepository.messagesAt. */
  liveAt(conversationId: string, seqs: readonly number[]): Promise<MessageRecord[]>;
}

/** listMessages and messagesAt over archive and live rows together. */
export interface ArchivedReads {
  /** Exactly HistoryRepository.listMessages, as if nothing were archived. */
  listMessages(conversationId: string, range: MessageRange): Promise<MessageRecord[]>;
  /** Exactly HistoryRepository.messagesAt (ascending here), as if nothing were archived. */
  messagesAt(conversationId: string, seqs: readonly number[]): Promise<MessageRecord[]>;
}

/**
 * How often a read starts over when a segment it was about to read was removed by retention
 * in the meantime (the index no longer names it). Each start over reads a newer index, so
 * only a retention pass per attempt on this very conversation could exhaust it.
 */
const ATTEMPTS = 3;

/**
 * Reads that answer from the archive below the live rows and from the live table above them.
 *
 * Correct while the archiver commits concurrently, because the live rows are read BEFORE the
 * index: rows only ever move from the live table into segments, so a row of the window is
 * either in a segment the (later) index names, or it was still live when the live read ran.
 * Segments are the truth up to the index's top; live rows above it. A live read whose window
 * turns out to be all archived is wasted, but it is one indexed seek, and the common read (the
 * newest page) costs one live read and one index read.
 */
export function createArchivedReads(source: ArchiveReadSource): ArchivedReads {
  /**
   * Runs a read; when a segment turns out missing and the index no longer names it (retention
   * removed it after the read took its index), starts over with the current index. A segment
   * the index still names and the store does not have is a real loss: its error goes out.
   */
  async function withRetry<T>(conversationId: string, read: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await read();
      } catch (err) {
        if (!(err instanceof SegmentCorruptError) || err.reason !== "missing" || attempt >= ATTEMPTS) throw err;
        const index = await source.index(conversationId);
        if (index.some((e) => e.key === err.segment.key)) throw err;
      }
    }
  }

  async function listMessages(conversationId: string, range: MessageRange): Promise<MessageRecord[]> {
    const after = range.afterSeq ?? 0;
    const before = range.beforeSeq ?? Number.POSITIVE_INFINITY;
    const { limit } = range;
    if (limit <= 0 || before <= after + 1) return [];

    const live = await source.live(conversationId, range);
    // Every segment lies below every live row: live rows that already answer the page leave
    // nothing for the archive to add (no index read for the newest pages of most reads).
    if (range.direction === "backward" ? live.length === limit : live[0]?.seq === after + 1) return live;
    const index = await source.index(conversationId);
    const top = topOf(index);
    // Live rows at or below the top have been archived since the live read: the segments have them.
    const upper = top === 0 ? live : live.filter((m) => m.seq > top);
    if (after >= top) return upper;
    const segments = index.filter((e) => e.toSeq > after && e.fromSeq < before);

    if (range.direction === "forward") {
      const lower: MessageRecord[] = [];
      for (const e of segments) {
        for (const m of within(await source.segment(e), after, before)) {
          lower.push(m);
          if (lower.length === limit) return lower;
        }
      }
      // The live page held the lowest `limit` rows then live; those above the top still are.
      return [...lower, ...upper.slice(0, limit - lower.length)];
    }

    if (upper.length === limit) return upper;
    const lower: MessageRecord[] = [];
    for (const e of segments.toReversed()) {
      const rows = within(await source.segment(e), after, before);
      for (let i = rows.length - 1; i >= 0 && lower.length + upper.length < limit; i--) lower.push(rows[i] as MessageRecord);
      if (lower.length + upper.length === limit) break;
    }
    return [...lower.reverse(), ...upper];
  }

  async function messagesAt(conversationId: string, seqs: readonly number[]): Promise<MessageRecord[]> {
    if (seqs.length === 0) return [];
    const live = await source.liveAt(conversationId, seqs);
    const seen = new Set(live.map((m) => m.seq));
    if (seen.size === new Set(seqs).size) return live.sort((a, b) => a.seq - b.seq);
    const index = await source.index(conversationId);
    const top = topOf(index);
    const archived = [...new Set(seqs)].filter((s) => !seen.has(s) && s <= top).sort((a, b) => a - b);
    const found = [...live];
    for (const [entry, inIt] of groupBySegment(index, archived)) {
      const wanted = new Set(inIt);
      for (const m of await source.segment(entry)) if (wanted.has(m.seq)) found.push(m);
    }
    return found.sort((a, b) => a.seq - b.seq);
  }

  return {
    listMessages: (conversationId, range) => withRetry(conversationId, () => listMessages(conversationId, range)),
    messagesAt: (conversationId, seqs) => withRetry(conversationId, () => messagesAt(conversationId, seqs)),
  };
}

function topOf(index: readonly SegmentIndexEntry[]): number {
  return index.at(-1)?.toSeq ?? 0;
}

function within(rows: readonly MessageRecord[], after: number, before: number): MessageRecord[] {
  return rows.filter((m) => m.seq > after && m.seq < before);
}

/** The segments holding the (ascending) seqs, each with its seqs; seqs in no segment are dropped. */
function groupBySegment(index: readonly SegmentIndexEntry[], seqs: readonly number[]): Map<SegmentIndexEntry, number[]> {
  const groups = new Map<SegmentIndexEntry, number[]>();
  let i = 0;
  for (const s of seqs) {
    while (i < index.length && (index[i] as SegmentIndexEntry).toSeq < s) i++;
    const e = index[i];
    if (e === undefined) break;
    if (e.fromSeq > s) continue;
    const group = groups.get(e);
    if (group === undefined) groups.set(e, [s]);
    else group.push(s);
  }
  return groups;
}
