import { failedPrecondition, invalidArgument, notFound, permissionDenied } from "../domain/errors.js";
import { directConversationId } from "./direct-conversation-id.js";
import type { ConversationRecord, RetentionPolicy } from "./history-repository.js";
import type { MongoContext } from "./mongo-context.js";
import { ids, newHead, toConversation, type HeadDoc, type MemberDoc, type RangeDoc } from "./mongo-documents.js";
import { ensureIndexRows, entriesOf, leaveRequests, userConversationOf } from "./mongo-user-index.js";

/*
 * Direct conversations, the pair's relation and the message-request folders. The relation
 * document sits in the conversation's partition (by the pair's conversation id), so the
 * checks of open and append never leave the conversation's shard.
 */

/** See HistoryRepository.openDirect. */
export async function openDirect(
  ctx: MongoContext,
  opener: string,
  peer: string,
  now: number,
  peerLandsInRequests: boolean,
  retention: RetentionPolicy,
): Promise<ConversationRecord> {
  const id = directConversationId(opener, peer);
  const users = [...new Set([opener, peer])];
  const { head, members } = await ctx.transaction("openDirect", async (session, wrote) => {
    const relation = await ctx.relations.findOne({ _id: ids.relation(id), conversationId: id }, { session });
    if (opener !== peer && relation?.blocking.includes(peer)) throw permissionDenied("this user does not accept messages from you");
    const existing = await ctx.heads.findOne({ _id: ids.head(id), conversationId: id }, { session });
    // An existing conversation keeps its retention.
    if (existing) {
      const current = await ctx.members.find({ conversationId: id, type: "member" }, { session }).toArray();
      return { head: existing, members: current };
    }
    // Read in this transaction: the caller's flag may predate the pair becoming contacts.
    const peerInRequests = peerLandsInRequests && (relation?.contact.length ?? 0) === 0;
    const created = newHead(id, "direct", { title: "", description: "", now, memberVersion: 1, memberCount: users.length, blocked: relation?.blocking.length ?? 0, retention });
    await ctx.heads.insertOne(created, { session });
    // The creating open writes the relation document too, so a relation change racing it
    // conflicts with it: one of the two commits first and the other runs again and sees it.
    await ctx.relations.updateOne(
      { _id: ids.relation(id), conversationId: id },
      { $set: { opened: true }, $setOnInsert: { type: "relation", blocking: [], contact: [] } },
      { upsert: true, session },
    );
    const joined: MemberDoc[] = users.map((userId) => ({
      _id: ids.member(id, userId),
      conversationId: id,
      type: "member",
      userId,
      role: null,
      active: true,
      joinedSeq: 1,
      leftSeq: null,
      leftAt: null,
      deliveredSeq: 0,
      readSeq: 0,
      request: userId !== opener && peerInRequests ? 1 : 0,
      joinedAt: now,
    }));
    const ranges: RangeDoc[] = users.map((userId) => ({ _id: ids.range(id, userId, 1), conversationId: id, type: "range", userId, fromSeq: 1, toSeq: null }));
    await ctx.members.insertMany(joined, { session });
    await ctx.ranges.insertMany(ranges, { session });
    wrote(2 + joined.length + ranges.length);
    return { head: created, members: joined };
  });
  // The index rows, on the users' shards, after the commit. Run again by every open of an
  // existing conversation, so an open that died between the two steps is repaired by the
  // retry; rows that exist are left where their user put them.
  await ensureIndexRows(ctx, "openDirect", entriesOf(members));
  return toConversation(head);
}

/** See HistoryRepository.setDirectRelation. */
export async function setDirectRelation(ctx: MongoContext, userId: string, peerUserId: string, blocking: boolean, contact: boolean): Promise<void> {
  if (userId === peerUserId) throw invalidArgument("a user has no direct relation with themselves");
  const id = directConversationId(userId, peerUserId);
  const head = await ctx.transaction("setDirectRelation", async (session, wrote): Promise<HeadDoc | null> => {
    const relation = await ctx.relations.findOne({ _id: ids.relation(id), conversationId: id }, { session });
    const blockers = new Set(relation?.blocking ?? []);
    const contacts = new Set(relation?.contact ?? []);
    if (blocking) blockers.add(userId);
    else blockers.delete(userId);
    if (contact) contacts.add(userId);
    else contacts.delete(userId);
    // Kept whether or not the conversation exists: open reads it when it creates one.
    await ctx.relations.updateOne(
      { _id: ids.relation(id), conversationId: id },
      { $set: { blocking: [...blockers].sort(), contact: [...contacts].sort() }, $setOnInsert: { type: "relation", opened: false } },
      { upsert: true, session },
    );
    wrote(1);
    const existing = await ctx.heads.findOne({ _id: ids.head(id), conversationId: id }, { session });
    if (!existing) return null;
    // The count append tests: a block costs the send path nothing.
    if (existing.blocked !== blockers.size) {
      await ctx.heads.updateOne({ _id: existing._id, conversationId: id }, { $set: { blocked: blockers.size } }, { session });
      wrote(1);
    }
    if (contact) wrote((await ctx.members.updateMany({ conversationId: id, type: "member", request: 1 }, { $set: { request: 0 } }, { session })).modifiedCount);
    return existing;
  });
  // Out of both users' requests (their rows live on their shards). A row an open has not
  // written yet is created here in the inbox; the open's later write leaves it there.
  if (head && contact) await leaveRequests(ctx, "setDirectRelation", id, head.createdAt, [userId, peerUserId]);
}

/** See HistoryRepository.acceptRequest. */
export async function acceptRequest(ctx: MongoContext, userId: string, conversationId: string): Promise<void> {
  const row = await userConversationOf(ctx, userId, conversationId);
  if (!row) throw notFound(`conversation ${conversationId} not found`);
  const res = await ctx.userConversations.updateOne({ _id: ids.userConversation(userId, conversationId), userId, request: 1 }, { $set: { request: 0 } });
  ctx.committed("acceptRequest", res.modifiedCount);
}

/** See HistoryRepository.deleteRequest. */
export async function deleteRequest(ctx: MongoContext, userId: string, conversationId: string): Promise<void> {
  const row = await userConversationOf(ctx, userId, conversationId);
  if (!row) throw notFound(`conversation ${conversationId} not found`);
  if (!row.request) throw failedPrecondition(`conversation ${conversationId} is in your inbox, not a message request`);
  const res = await ctx.userConversations.updateOne({ _id: ids.userConversation(userId, conversationId), userId }, { $set: { hiddenSeq: row.conversation.lastSeq } });
  ctx.committed("deleteRequest", res.modifiedCount);
}
