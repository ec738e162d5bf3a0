import { requireTransactionalServer } from "@messenger/mongo-setup";
import { MongoClient } from "mongodb";
import { limits } from "../domain/limits.js";
import { permanentRetention, type DeviceCursor, type HistoryRepository, type MemberRangeRecord, type MessageRange } from "./history-repository.js";
import { MongoContext, type OnCommitted } from "./mongo-context.js";
import { receiptSummaryOf, updateCursor } from "./mongo-cursor-writes.js";
import { acceptRequest, deleteRequest, openDirect, setDirectRelation } from "./mongo-direct-writes.js";
import { ids, toConversation, toMember, toMessage, type RangeDoc } from "./mongo-documents.js";
import { append, applyGroupChange, setRetention } from "./mongo-message-writes.js";
import { deleteExpired, deleteThrough } from "./mongo-retention-writes.js";
import { archiveCandidates, archivedDisappearing, archiveGarbage, commitSegment, forgetGarbage, replaceSegment, segmentIndex, segmentsBelowMinSeq } from "./mongo-archive.js";
import { ackPushOutbox, claimPushOutbox } from "./mongo-push-outbox.js";
import { databaseOf, ensureMongoSchema, historyNeedsTransactions } from "./mongo-setup.js";
import { userConversationOf, userConversationsPage } from "./mongo-user-index.js";

export interface MongoHistoryOptions {
  /** The database; default: the one the URI names, else "messenger". */
  readonly dbName?: string;
  /** Above this many members a group's receipts version moves only with its summary. */
  readonly largeGroupThreshold?: number;
  /** Told the documents each committed write wrote, and how many new messages it stored. */
  readonly onCommitted?: OnCommitted;
}

const toRange = (r: RangeDoc): MemberRangeRecord => ({ userId: r.userId, fromSeq: r.fromSeq, toSeq: r.toSeq ?? undefined });

/**
 * The distributed history adapter, on a MongoDB replica set or sharded cluster (it uses
 * transactions, which a standalone server does not have). It creates its collections and
 * indexes at open; sharding them is `npm run mongo-init`'s job. Layout, shard keys and why:
 * services/store/docs/mongodb.md.
 */
export async function openMongoHistoryRepository(uri: string, opts: MongoHistoryOptions = {}): Promise<HistoryRepository> {
  const client = new MongoClient(uri);
  await client.connect();
  try {
    const db = client.db(opts.dbName ?? databaseOf(uri));
    await requireTransactionalServer(client, historyNeedsTransactions);
    await ensureMongoSchema(client, db, { shard: false });
    return mongoHistoryRepository(new MongoContext(client, db, opts.largeGroupThreshold ?? limits.defaultLargeGroupThreshold, opts.onCommitted ?? (() => {})));
  } catch (err) {
    await client.close();
    throw err;
  }
}

function mongoHistoryRepository(ctx: MongoContext): HistoryRepository {
  const { heads, members, ranges, messages } = ctx;
  const head = (conversationId: string) => heads.findOne({ _id: ids.head(conversationId), conversationId });
  let closed = false;
  return {
    openDirect: (opener, peer, now, peerLandsInRequests, retention = permanentRetention) => openDirect(ctx, opener, peer, now, peerLandsInRequests, retention),
    setDirectRelation: (userId, peerUserId, blocking, contact) => setDirectRelation(ctx, userId, peerUserId, blocking, contact),
    acceptRequest: (userId, conversationId) => acceptRequest(ctx, userId, conversationId),
    deleteRequest: (userId, conversationId) => deleteRequest(ctx, userId, conversationId),
    append: (inputs) => append(ctx, inputs),
    applyGroupChange: (input) => applyGroupChange(ctx, input),
    setRetention: (input) => setRetention(ctx, input),
    deleteExpired: (now, limit) => deleteExpired(ctx, now, limit),
    deleteThrough: (conversationId, throughSeq, mode) => deleteThrough(ctx, conversationId, throughSeq, mode),
    commitSegment: (entry) => commitSegment(ctx, entry),
    replaceSegment: (old, replacement) => replaceSegment(ctx, old, replacement, Date.now()),
    forgetGarbage: (keys) => forgetGarbage(ctx, keys),
    archiveGarbage: (limit) => archiveGarbage(ctx, limit),
    segmentIndex: (conversationId) => segmentIndex(ctx, conversationId),
    archivedDisappearing: (afterConversationId, limit) => archivedDisappearing(ctx, afterConversationId, limit),
    archiveCandidates: (afterConversationId, limit, minMessages) => archiveCandidates(ctx, afterConversationId, limit, minMessages),
    segmentsBelowMinSeq: (limit) => segmentsBelowMinSeq(ctx, limit),
    updateCursor: (conversationId, userId, deviceId, deliveredSeq, readSeq) => updateCursor(ctx, conversationId, userId, deviceId, deliveredSeq, readSeq),
    userConversations: (userId, afterConversationId, limit) => userConversationsPage(ctx, userId, afterConversationId, limit),
    userConversation: (userId, conversationId) => userConversationOf(ctx, userId, conversationId),
    claimPushOutbox: (now, leaseMs, olderThan, limit) => claimPushOutbox(ctx, now, leaseMs, olderThan, limit),
    ackPushOutbox: (keys) => ackPushOutbox(ctx, keys),

    async getConversation(conversationId) {
      const doc = await head(conversationId);
      return doc ? toConversation(doc) : undefined;
    },
    async getMember(conversationId, userId) {
      const doc = await members.findOne({ _id: ids.member(conversationId, userId), conversationId });
      return doc ? toMember(doc) : undefined;
    },
    async getMembers(conversationId, userIds) {
      if (userIds.length === 0) return [];
      return (await members.find({ conversationId, type: "member", userId: { $in: [...userIds] } }).toArray()).map(toMember);
    },
    async listActiveMembers(conversationId, afterUserId, limit) {
      const docs = await members.find({ conversationId, type: "member", active: true, userId: { $gt: afterUserId } }, { sort: { userId: 1 }, limit }).toArray();
      return docs.map(toMember);
    },
    async memberRanges(conversationId) {
      return (await ranges.find({ conversationId, type: "range" }, { sort: { userId: 1, fromSeq: 1 } }).toArray()).map(toRange);
    },
    async rangesOf(conversationId, userId) {
      return (await ranges.find({ conversationId, type: "range", userId }, { sort: { fromSeq: 1 } }).toArray()).map(toRange);
    },
    async storeAndForwardHeld(afterConversationId, limit) {
      const docs = await heads
        .find(
          { type: "conversation", retentionMode: "store_and_forward", conversationId: { $gt: afterConversationId }, $expr: { $gte: ["$lastSeq", { $max: ["$minSeq", 1] }] } },
          { sort: { conversationId: 1 }, limit },
        )
        .toArray();
      return docs.map(toConversation);
    },
    async deliveredByDevice(conversationId, devices) {
      if (devices.length === 0) return [];
      // Targeted by user id (the device cursors' shard key), then the exact pairs kept.
      const wanted = new Set(devices.map((d) => ids.deviceCursor(d.userId, d.deviceId, conversationId)));
      const docs = await ctx.deviceCursors.find({ userId: { $in: [...new Set(devices.map((d) => d.userId))] }, conversationId }).toArray();
      return docs.filter((d) => wanted.has(d._id)).map((d) => ({ userId: d.userId, deviceId: d.deviceId, deliveredSeq: d.deliveredSeq }));
    },
    async mediaReferences(mediaId, limit) {
      const docs = await ctx.mediaRefs.find({ type: "media", mediaId }, { sort: { mediaId: 1, conversationId: 1, seq: 1 }, limit, projection: { conversationId: 1, seq: 1 } }).toArray();
      return docs.map((d) => ({ conversationId: d.conversationId, seq: d.seq }));
    },
    async referencedMedia(mediaIds) {
      if (mediaIds.length === 0) return new Set();
      const found = await ctx.mediaRefs.distinct("mediaId", { type: "media", mediaId: { $in: [...mediaIds] } });
      return new Set(found.filter((id): id is string => typeof id === "string"));
    },
    async listMessages(conversationId, range: MessageRange) {
      const seq = { $gt: range.afterSeq ?? 0, $lt: range.beforeSeq ?? Number.MAX_SAFE_INTEGER };
      const forward = range.direction === "forward";
      const docs = await messages.find({ conversationId, type: "message", seq }, { sort: { seq: forward ? 1 : -1 }, limit: range.limit }).toArray();
      if (!forward) docs.reverse();
      return docs.map(toMessage);
    },
    async messagesAt(conversationId, seqs) {
      if (seqs.length === 0) return [];
      return (await messages.find({ conversationId, type: "message", seq: { $in: [...seqs] } }).toArray()).map(toMessage);
    },
    async deviceCursors(userId, deviceId, conversationIds) {
      const out = new Map<string, DeviceCursor>();
      if (conversationIds.length === 0) return out;
      const docs = await ctx.deviceCursors.find({ userId, deviceId, conversationId: { $in: [...conversationIds] } }).toArray();
      for (const d of docs) out.set(d.conversationId, { deliveredSeq: d.deliveredSeq, readSeq: d.readSeq });
      return out;
    },
    async receipts(conversationId) {
      const docs = await members.find({ conversationId, type: "member", active: true }, { sort: { userId: 1 }, projection: { userId: 1, deliveredSeq: 1, readSeq: 1 } }).toArray();
      return docs.map((d) => ({ userId: d.userId, deliveredSeq: d.deliveredSeq, readSeq: d.readSeq }));
    },
    async receiptSummary(conversationId) {
      const doc = await head(conversationId);
      return receiptSummaryOf(ctx, conversationId, doc?.memberCount ?? 0);
    },
    async readBy(conversationId, seq, exceptUserId, afterUserId, limit) {
      const eligible = { conversationId, type: "member" as const, active: true, joinedSeq: { $lte: seq }, userId: { $ne: exceptUserId } };
      const read = { ...eligible, readSeq: { $gte: seq } };
      const [page, count, all] = await Promise.all([
        members.find({ ...read, userId: { $ne: exceptUserId, $gt: afterUserId } }, { sort: { userId: 1 }, limit, projection: { userId: 1 } }).toArray(),
        members.countDocuments(read),
        members.countDocuments(eligible),
      ]);
      return { userIds: page.map((d) => d.userId), count, eligible: all };
    },
    async close() {
      if (closed) return;
      closed = true;
      await ctx.client.close();
    },
  };
}
