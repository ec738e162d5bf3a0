import type { SegmentIndexEntry } from "../archive/segment-index.js";
import { aborted, failedPrecondition, notFound } from "../domain/errors.js";
import type { ConversationRecord } from "./history-repository.js";
import type { MongoContext } from "./mongo-context.js";
import { ids, segmentDoc, toConversation, toSegment, type SegmentDoc } from "./mongo-documents.js";

/*
 * The archive's index: each segment's entry and each blob left to delete are documents of
 * their conversation's partition, so committing or replacing a segment (entry, live messages,
 * head, garbage) is one single-shard transaction. The listings that span conversations
 * (candidates, segments below min_seq, garbage) ask every shard; they run off the send path.
 */

/** The boundary where a conversation's next segment starts. */
const boundaryOf = (c: { minSeq: number; archivedThrough: number }): number => Math.max(c.minSeq, c.archivedThrough + 1, 1);

/** See HistoryRepository.commitSegment. */
export async function commitSegment(ctx: MongoContext, e: SegmentIndexEntry): Promise<void> {
  const c = e.conversationId;
  await ctx.transaction("commitSegment", async (session, wrote) => {
    const head = await ctx.heads.findOne({ _id: ids.head(c), conversationId: c }, { session });
    if (!head) throw notFound(`conversation ${c} not found`);
    const boundary = boundaryOf(head);
    if (e.fromSeq !== boundary || e.toSeq < e.fromSeq) throw failedPrecondition(`a segment must start at the archive boundary ${boundary}, not ${e.fromSeq}`);
    // The archiver read the rows before writing the blob: they must still be exactly those.
    const live = await ctx.messages.countDocuments({ conversationId: c, type: "message", seq: { $gte: e.fromSeq, $lte: e.toSeq } }, { session });
    if (live !== e.count || live !== e.toSeq - e.fromSeq + 1) throw aborted(`the live rows ${e.fromSeq}..${e.toSeq} changed since they were archived`);
    await ctx.segments.insertOne(segmentDoc(e), { session });
    // Their media references stay: an archived message still references its media.
    const deleted = await ctx.messages.deleteMany({ conversationId: c, type: "message", seq: { $gte: e.fromSeq, $lte: e.toSeq } }, { session });
    await ctx.heads.updateOne({ _id: head._id, conversationId: c }, { $max: { archivedThrough: e.toSeq } }, { session });
    wrote(2 + deleted.deletedCount);
  });
}

/** See HistoryRepository.replaceSegment. */
export async function replaceSegment(ctx: MongoContext, old: SegmentIndexEntry, replacement: SegmentIndexEntry | undefined, now: number): Promise<void> {
  const c = old.conversationId;
  await ctx.transaction("replaceSegment", async (session, wrote) => {
    const gone = await ctx.segments.deleteOne({ _id: ids.segment(c, old.fromSeq), conversationId: c, key: old.key }, { session });
    if (gone.deletedCount === 0) throw aborted(`segment ${old.key} is no longer in the index`);
    if (replacement) await ctx.segments.insertOne(segmentDoc(replacement), { session });
    await ctx.garbage.updateOne(
      { _id: ids.garbage(c, old.key), conversationId: c },
      { $setOnInsert: { type: "garbage", key: old.key, since: now } },
      { upsert: true, session },
    );
    wrote(replacement ? 3 : 2);
  });
}

/** See HistoryRepository.forgetGarbage. */
export async function forgetGarbage(ctx: MongoContext, keys: readonly string[]): Promise<void> {
  if (keys.length === 0) return;
  const res = await ctx.garbage.deleteMany({ type: "garbage", key: { $in: [...keys] } });
  ctx.committed("forgetGarbage", res.deletedCount);
}

/** See HistoryRepository.archiveGarbage. */
export async function archiveGarbage(ctx: MongoContext, limit: number): Promise<string[]> {
  const docs = await ctx.garbage.find({ type: "garbage" }, { sort: { since: 1, key: 1 }, limit, projection: { key: 1 } }).toArray();
  return docs.map((d) => d.key);
}

/** See HistoryRepository.segmentIndex. */
export async function segmentIndex(ctx: MongoContext, conversationId: string): Promise<SegmentIndexEntry[]> {
  return (await ctx.segments.find({ conversationId, type: "segment" }, { sort: { fromSeq: 1 } }).toArray()).map(toSegment);
}

/** See HistoryRepository.archivedDisappearing. */
export async function archivedDisappearing(ctx: MongoContext, afterConversationId: string, limit: number): Promise<ConversationRecord[]> {
  const docs = await ctx.heads
    .find(
      { type: "conversation", retentionMode: "disappearing", conversationId: { $gt: afterConversationId }, $expr: { $gte: ["$archivedThrough", { $max: ["$minSeq", 1] }] } },
      { sort: { conversationId: 1 }, limit },
    )
    .toArray();
  return docs.map(toConversation);
}

/** See HistoryRepository.archiveCandidates. */
export async function archiveCandidates(ctx: MongoContext, afterConversationId: string, limit: number, minMessages: number): Promise<{ conversationId: string; fromSeq: number }[]> {
  const boundary = { $max: ["$minSeq", { $add: ["$archivedThrough", 1] }, 1] };
  const docs = await ctx.heads
    .find(
      {
        type: "conversation",
        retentionMode: "permanent",
        conversationId: { $gt: afterConversationId },
        $expr: { $gte: [{ $add: [{ $subtract: ["$lastSeq", boundary] }, 1] }, minMessages] },
      },
      { sort: { conversationId: 1 }, limit, projection: { conversationId: 1, minSeq: 1, archivedThrough: 1 } },
    )
    .toArray();
  return docs.map((d) => ({ conversationId: d.conversationId, fromSeq: boundaryOf(d) }));
}

/**
 * See HistoryRepository.segmentsBelowMinSeq: conversations that have archived segments and
 * deleted history, then their segments that start below min_seq, by conversation and seq.
 */
export async function segmentsBelowMinSeq(ctx: MongoContext, limit: number): Promise<SegmentIndexEntry[]> {
  const out: SegmentIndexEntry[] = [];
  const heads = ctx.heads.find(
    { type: "conversation", archivedThrough: { $gt: 0 }, minSeq: { $gt: 1 } },
    { sort: { conversationId: 1 }, projection: { conversationId: 1, minSeq: 1 } },
  );
  try {
    for await (const h of heads) {
      if (out.length >= limit) break;
      const docs: SegmentDoc[] = await ctx.segments
        .find({ conversationId: h.conversationId, type: "segment", fromSeq: { $lt: h.minSeq } }, { sort: { fromSeq: 1 }, limit: limit - out.length })
        .toArray();
      out.push(...docs.map(toSegment));
    }
  } finally {
    await heads.close();
  }
  return out;
}
