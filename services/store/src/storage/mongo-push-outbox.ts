import type { PushOutboxClaim, PushOutboxKey } from "./history-repository.js";
import type { MongoContext } from "./mongo-context.js";
import { ids } from "./mongo-documents.js";

/*
 * The push outbox across conversations: each entry lives in its conversation's partition
 * (written in the message's single-shard transaction); the relay's listing asks every shard,
 * off the send path, like the archive's and retention's listings.
 */

/** See HistoryRepository.claimPushOutbox. */
export async function claimPushOutbox(ctx: MongoContext, now: number, leaseMs: number, olderThan: number, limit: number): Promise<PushOutboxClaim> {
  const candidates = await ctx.outbox
    .find({ type: "outbox", sentAt: { $lt: olderThan }, claimedUntil: { $lte: now } }, { sort: { sentAt: 1, conversationId: 1, seq: 1 }, limit })
    .toArray();
  const entries: PushOutboxClaim["entries"] = [];
  // Each lease is a conditional update of one document: of two relays that read the same
  // candidate, only the one whose update still finds the lease expired gets it.
  for (const d of candidates) {
    const leased = await ctx.outbox.updateOne({ _id: d._id, conversationId: d.conversationId, claimedUntil: { $lte: now } }, { $set: { claimedUntil: now + leaseMs } });
    if (leased.modifiedCount === 1) entries.push({ conversationId: d.conversationId, seq: d.seq, messageId: d.messageId, senderUserId: d.senderUserId, sentAt: d.sentAt });
  }
  ctx.committed("claimPushOutbox", entries.length);
  const oldest = await ctx.outbox.findOne({ type: "outbox" }, { sort: { sentAt: 1, conversationId: 1, seq: 1 }, projection: { sentAt: 1 } });
  return { entries, oldestSentAt: oldest?.sentAt };
}

/** See HistoryRepository.ackPushOutbox. */
export async function ackPushOutbox(ctx: MongoContext, keys: readonly PushOutboxKey[]): Promise<void> {
  if (keys.length === 0) return;
  const res = await ctx.outbox.deleteMany({ _id: { $in: keys.map((k) => ids.outbox(k.conversationId, k.seq)) }, type: "outbox" });
  ctx.committed("ackPushOutbox", res.deletedCount);
}
