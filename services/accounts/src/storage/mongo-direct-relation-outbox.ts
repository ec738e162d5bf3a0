import type { ClientSession } from "mongodb";
import type { DirectRelationOutbox, PendingDirectRelation } from "./direct-relation-outbox.js";
import type { AccountsMongo } from "./mongo-context.js";
import { ids, type OutboxDoc } from "./mongo-documents.js";

const versionCounter = "direct_relation_outbox";

const entryOf = (d: OutboxDoc): PendingDirectRelation => ({ userId: d.userId, peerUserId: d.peerUserId, blocking: d.blocking, contact: d.contact, version: d.version });

/** The outbox and what the contacts writes call, inside their own transactions, to fill it. */
export interface MongoDirectRelationOutbox extends DirectRelationOutbox {
  /**
   * Queues userId's stance toward peerId as the transaction sees it now (its own writes
   * included), replacing a pending or acknowledged entry under a new version. Its write to
   * the pair's entry makes two transactions queuing the same pair conflict, so the second
   * reads the first's change and queues the state both made.
   */
  queue(userId: string, peerId: string, session: ClientSession): Promise<void>;
}

/**
 * The outbox on MongoDB: one document per (user, peer), on the user's shard. Versions come
 * from one counter (MongoContext.next): they grow and are never reused, so "unchanged since"
 * is one comparison.
 *
 * Several replicas push entries at once; the in-process PairLock orders a pair's pushes
 * within one replica only. An acknowledged entry therefore stays (as a tombstone: `pending`
 * false, dropped by a TTL index after a day) with its version, and clearDirectRelation tells
 * three cases apart. The version is unchanged: the store heard this state (possibly from
 * another replica too), done. The version moved on: another replica queued a newer state
 * and may have pushed it before this older push reached the store, which would then hold
 * the older state with nothing pending to correct it, so the pair's current state is queued
 * again. No document: it was acknowledged more than a day ago, so this push cannot be the
 * late one; queued again all the same, which costs one redundant push.
 */
export function mongoDirectRelationOutbox(m: AccountsMongo): MongoDirectRelationOutbox {
  const queue = async (userId: string, peerId: string, session: ClientSession): Promise<void> => {
    const blocking = (await m.blocks.findOne({ _id: ids.pair(userId, peerId), userId }, { session, projection: { _id: 1 } })) !== null;
    const contact = (await m.contacts.findOne({ _id: ids.pair(userId, peerId), userId }, { session, projection: { _id: 1 } })) !== null;
    const version = await m.next(versionCounter);
    await m.outbox.updateOne(
      { _id: ids.pair(userId, peerId), userId },
      { $set: { peerUserId: peerId, blocking, contact, version, pending: true }, $unset: { acknowledgedAt: "" } },
      { upsert: true, session },
    );
  };
  return {
    queue,
    async pendingDirectRelation(userId, peerUserId) {
      const d = await m.outbox.findOne({ _id: ids.pair(userId, peerUserId), userId, pending: true });
      return d ? entryOf(d) : undefined;
    },
    async pendingDirectRelations(afterVersion, limit) {
      const docs = await m.outbox.find({ pending: true, version: { $gt: afterVersion } }, { sort: { version: 1 }, limit }).toArray();
      return docs.map(entryOf);
    },
    async clearDirectRelation(entry) {
      const acknowledged = await m.outbox.updateOne(
        { _id: ids.pair(entry.userId, entry.peerUserId), userId: entry.userId, version: entry.version },
        { $set: { pending: false, acknowledgedAt: new Date() } },
      );
      if (acknowledged.matchedCount === 1) return true;
      await m.transaction((session) => queue(entry.userId, entry.peerUserId, session));
      return false;
    },
  };
}
