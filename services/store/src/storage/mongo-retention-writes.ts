import type { ClientSession } from "mongodb";
import type { ExpiredDeletion, RetentionMode } from "./history-repository.js";
import type { MongoContext, WriteKind } from "./mongo-context.js";
import { ids } from "./mongo-documents.js";
import { duePrefix } from "../domain/retention.js";

/**
 * Deletes a conversation's live messages through `through` with their media references and
 * moves min_seq above them, in the caller's transaction: min_seq never moves without the
 * deletion, nor the other way round. Archived segments below min_seq are left to
 * segmentsBelowMinSeq. Returns the documents deleted: messages, then references.
 */
async function deletePrefix(ctx: MongoContext, session: ClientSession, conversationId: string, through: number): Promise<{ messages: number; refs: number }> {
  const messages = await ctx.messages.deleteMany({ conversationId, type: "message", seq: { $lte: through } }, { session });
  const refs = await ctx.mediaRefs.deleteMany({ conversationId, type: "media", seq: { $lte: through } }, { session });
  await ctx.heads.updateOne({ _id: ids.head(conversationId), conversationId }, { $max: { minSeq: through + 1 } }, { session });
  return { messages: messages.deletedCount, refs: refs.deletedCount };
}

/**
 * Deletes the conversation's messages through `throughSeq` in its own transaction, only while
 * its retention is still `mode`: min_seq and the mode are read inside the transaction, so two
 * replicas deleting the same prefix count it once between them (the second finds min_seq
 * above it), and a switch of retention since the caller looked keeps everything. Returns the
 * messages that stopped existing, archived ones included. `kind` names the write for the
 * store's write-cost metric.
 */
function deleteWhileMode(ctx: MongoContext, kind: WriteKind, conversationId: string, throughSeq: number, mode: RetentionMode): Promise<number> {
  return ctx.transaction(kind, async (session, wrote) => {
    const c = await ctx.heads.findOne({ _id: ids.head(conversationId), conversationId }, { session });
    if (!c || c.retentionMode !== mode) return 0;
    const through = Math.min(throughSeq, c.lastSeq);
    const from = Math.max(c.minSeq, 1);
    if (through < from) return 0;
    const n = await deletePrefix(ctx, session, conversationId, through);
    wrote(n.messages + n.refs + 1);
    // Seqs are contiguous above min_seq, in live messages and archived segments alike.
    return through - from + 1;
  });
}

/**
 * See HistoryRepository.deleteExpired. The disappearing conversations are found through the
 * retention index (a query to every shard, off the send path); each conversation's due prefix
 * is deleted in its own single-shard transaction.
 */
export async function deleteExpired(ctx: MongoContext, now: number, limit: number): Promise<ExpiredDeletion> {
  let deleted = 0;
  let conversations = 0;
  let more = false;
  const heads = ctx.heads.find(
    { type: "conversation", retentionMode: "disappearing", retentionTtlSeconds: { $gt: 0 } },
    { sort: { conversationId: 1 }, projection: { conversationId: 1, minSeq: 1, retentionTtlSeconds: 1 } },
  );
  try {
    for await (const c of heads) {
      if (deleted >= limit) {
        more = true;
        break;
      }
      const cutoff = now - c.retentionTtlSeconds * 1000;
      const budget = limit - deleted;
      const from = Math.max(c.minSeq, 1);
      const due = { conversationId: c.conversationId, type: "message" as const, seq: { $gte: from } };
      // sent_at follows seq (both are set by the conversation's own transactions), so what is
      // due is a prefix from min_seq: one document tells whether anything is.
      const first = await ctx.messages.findOne(due, { sort: { seq: 1 }, projection: { seq: 1, sentAt: 1 } });
      if (!first || first.sentAt >= cutoff) continue;
      const rows = await ctx.messages.find(due, { sort: { seq: 1 }, projection: { seq: 1, sentAt: 1 }, limit: budget + 1 }).toArray();
      const prefix = duePrefix(rows, cutoff, budget);
      if (prefix.more) more = true;
      const through = prefix.through;
      if (through === 0) continue;
      // What was read above may be stale (another replica deleting the same prefix, a switch
      // to permanent): the deletion re-reads min_seq and the mode in its own transaction.
      const n = await deleteWhileMode(ctx, "deleteExpired", c.conversationId, through, "disappearing");
      if (n === 0) continue;
      deleted += n;
      conversations++;
    }
  } finally {
    await heads.close();
  }
  return { deleted, conversations, more };
}

/** See HistoryRepository.deleteThrough. The caller decided on what it read before: a retention changed since keeps everything. */
export function deleteThrough(ctx: MongoContext, conversationId: string, throughSeq: number, mode: RetentionMode): Promise<number> {
  return deleteWhileMode(ctx, "deleteThrough", conversationId, throughSeq, mode);
}
