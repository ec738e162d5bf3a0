import type { AnyBulkWriteOperation } from "mongodb";
import type { MongoContext, WriteKind } from "./mongo-context.js";
import { ids, toConversation, toMember, type HeadDoc, type MemberDoc, type UserConversationDoc } from "./mongo-documents.js";
import type { UserConversation } from "./history-repository.js";

/**
 * The user index lives on the users' shards, so it is never written in a conversation's
 * transaction. Every write to it is an idempotent upsert that can be run again, and a row is
 * shown only while the user's member document exists (see visible below).
 */

/** One user's row as a join creates it. */
export interface IndexEntry {
  readonly userId: string;
  readonly conversationId: string;
  readonly joinedAt: number;
  readonly request: 0 | 1;
}

/**
 * Creates the rows that are missing and leaves existing ones as they are (a row's folder is
 * the user's: accept and delete move it, a join never moves it back).
 */
export async function ensureIndexRows(ctx: MongoContext, kind: WriteKind, entries: readonly IndexEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const ops: AnyBulkWriteOperation<UserConversationDoc>[] = entries.map((e) => ({
    updateOne: {
      filter: { _id: ids.userConversation(e.userId, e.conversationId), userId: e.userId },
      update: { $setOnInsert: { conversationId: e.conversationId, joinedAt: e.joinedAt, request: e.request, hiddenSeq: 0 } },
      upsert: true,
    },
  }));
  const res = await ctx.userConversations.bulkWrite(ops, { ordered: false });
  ctx.committed(kind, res.upsertedCount);
}

/** Takes the conversation out of the users' message requests, creating a missing row in the inbox. */
export async function leaveRequests(ctx: MongoContext, kind: WriteKind, conversationId: string, joinedAt: number, userIds: readonly string[]): Promise<void> {
  const ops: AnyBulkWriteOperation<UserConversationDoc>[] = userIds.map((userId) => ({
    updateOne: {
      filter: { _id: ids.userConversation(userId, conversationId), userId },
      update: { $set: { request: 0 }, $setOnInsert: { conversationId, joinedAt, hiddenSeq: 0 } },
      upsert: true,
    },
  }));
  const res = await ctx.userConversations.bulkWrite(ops, { ordered: false });
  ctx.committed(kind, res.modifiedCount + res.upsertedCount);
}

/** The rows a join commits: what a repair of a missing row writes again. */
export const entriesOf = (members: readonly MemberDoc[]): IndexEntry[] =>
  members.map((m) => ({ userId: m.userId, conversationId: m.conversationId, joinedAt: m.joinedAt, request: m.request }));

const toUserConversation = (row: UserConversationDoc, head: HeadDoc, member: MemberDoc): UserConversation => ({
  conversation: toConversation(head),
  member: toMember(member),
  request: row.request === 1,
  hiddenSeq: row.hiddenSeq,
});

/**
 * Joins index rows with their heads and the user's member documents (one batched read of
 * each, by $in on the conversations' shard key). A row without its member document is not
 * shown: it was written ahead of a join that did not commit (see applyGroupChange).
 */
export async function visible(ctx: MongoContext, userId: string, rows: readonly UserConversationDoc[]): Promise<UserConversation[]> {
  if (rows.length === 0) return [];
  const conversationIds = rows.map((r) => r.conversationId);
  const [heads, members] = await Promise.all([
    ctx.heads.find({ conversationId: { $in: conversationIds }, type: "conversation" }).toArray(),
    ctx.members.find({ conversationId: { $in: conversationIds }, type: "member", userId }).toArray(),
  ]);
  const headOf = new Map(heads.map((h) => [h.conversationId, h]));
  const memberOf = new Map(members.map((m) => [m.conversationId, m]));
  return rows.flatMap((row) => {
    const head = headOf.get(row.conversationId);
    const member = memberOf.get(row.conversationId);
    return head && member ? [toUserConversation(row, head, member)] : [];
  });
}

/**
 * The user's conversations in id order after `after`: `limit` of them whenever the index
 * holds that many shown rows (rows that are not shown are skipped, never counted), so a
 * caller that stops at a short page misses nothing.
 */
export async function userConversationsPage(ctx: MongoContext, userId: string, after: string, limit: number): Promise<UserConversation[]> {
  const out: UserConversation[] = [];
  let from = after;
  while (out.length < limit) {
    const want = limit - out.length;
    const rows = await ctx.userConversations.find({ userId, conversationId: { $gt: from } }, { sort: { conversationId: 1 }, limit: want }).toArray();
    out.push(...(await visible(ctx, userId, rows)));
    if (rows.length < want) break;
    from = rows.at(-1)!.conversationId;
  }
  return out;
}

/** One conversation of the user's index, when it is shown. */
export async function userConversationOf(ctx: MongoContext, userId: string, conversationId: string): Promise<UserConversation | undefined> {
  const row = await ctx.userConversations.findOne({ _id: ids.userConversation(userId, conversationId), userId });
  return row ? (await visible(ctx, userId, [row]))[0] : undefined;
}
