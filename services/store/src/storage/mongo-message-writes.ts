import { randomUUID } from "node:crypto";
import type { SystemEvent } from "@messenger/proto/chat/v1/types";
import type { ClientSession } from "mongodb";
import { DomainError, notFound, permissionDenied } from "../domain/errors.js";
import { planGroupChange, usersInvolved, type GroupChangeInput } from "../domain/group-change.js";
import { retentionChangedEvent } from "../domain/retention.js";
import { systemMessageRecord } from "../domain/system-message.js";
import type { AppendInput, AppendOutcome, GroupChangeOutcome, MemberRecord, MessageRecord, RetentionChangeInput } from "./history-repository.js";
import type { MongoContext } from "./mongo-context.js";
import { ids, mediaRefDoc, messageDoc, newHead, outboxDoc, toConversation, toMember, toMessage, type MemberDoc } from "./mongo-documents.js";
import { ensureIndexRows } from "./mongo-user-index.js";

/*
 * The writes that take a seq: append, group changes and retention changes. Each is one
 * transaction over one conversation's documents (its head, members, ranges, the new
 * message and its push outbox entry), all in the conversations collection under the same shard key value: a
 * single-shard transaction on a sharded cluster, never a distributed one.
 */

type Stored = AppendOutcome & { ok: true };

/**
 * One append. The idempotency lookup, the membership and block checks, the seq bump, the
 * insert and the sender's receipt are one transaction: a removal or a block committed before
 * it wrote the head (or the member) this one writes too, so this one either sees it or
 * conflicts with it and runs again; it is never ordered after it unseen.
 */
async function appendOne(ctx: MongoContext, input: AppendInput): Promise<Stored> {
  const c = input.conversationId;
  return ctx.transaction(
    "append",
    async (session, wrote): Promise<Stored> => {
      const existing = await ctx.messages.findOne(
        { conversationId: c, type: "message", senderUserId: input.senderUserId, senderDeviceId: input.senderDeviceId, clientMessageId: input.clientMessageId },
        { session },
      );
      const head = await ctx.heads.findOne({ _id: ids.head(c), conversationId: c }, { session });
      if (existing && head) return { ok: true, message: toMessage(existing), duplicate: true, memberVersion: head.memberVersion, memberCount: head.memberCount };
      if (!head) throw notFound(`conversation ${c} not found`);
      const member = await ctx.members.findOne({ _id: ids.member(c, input.senderUserId), conversationId: c }, { session });
      if (!member?.active) throw permissionDenied(`not a member of conversation ${c}`);
      if (input.replyToSeq > head.lastSeq) throw new DomainError("invalid_argument", `reply_to_seq ${input.replyToSeq} is beyond the newest message (${head.lastSeq})`);
      if (head.blocked > 0) throw permissionDenied("messages between these users are blocked");
      // The seq: lastSeq + 1, taken by the write that also moves the head's activity.
      const bumped = await ctx.heads.findOneAndUpdate(
        { _id: head._id, conversationId: c, blocked: 0 },
        { $inc: { lastSeq: 1 }, $set: { lastActivityAt: input.now } },
        { session, returnDocument: "after" },
      );
      if (!bumped) throw permissionDenied("messages between these users are blocked");
      const message: MessageRecord = {
        id: randomUUID(),
        conversationId: c,
        seq: bumped.lastSeq,
        senderUserId: input.senderUserId,
        senderDeviceId: input.senderDeviceId,
        clientMessageId: input.clientMessageId,
        body: input.body,
        replyToSeq: input.replyToSeq,
        clientSentAt: input.clientSentAt,
        sentAt: input.now,
      };
      await ctx.messages.insertOne(messageDoc(message), { session });
      const ref = mediaRefDoc(message);
      if (ref) await ctx.mediaRefs.insertOne(ref, { session });
      await ctx.outbox.insertOne(outboxDoc(message), { session });
      // Sending implies having seen the conversation up to here.
      await ctx.members.updateOne({ _id: member._id, conversationId: c, active: true }, { $max: { deliveredSeq: message.seq, readSeq: message.seq } }, { session });
      wrote(ref ? 5 : 4);
      return { ok: true, message, duplicate: false, memberVersion: bumped.memberVersion, memberCount: bumped.memberCount };
    },
    (o) => (o.duplicate ? 0 : 1),
  );
}

/** See HistoryRepository.append: in order, a refusal goes on, a failure stops the rest. */
export async function append(ctx: MongoContext, inputs: readonly AppendInput[]): Promise<AppendOutcome[]> {
  const out: AppendOutcome[] = [];
  let failure: string | undefined;
  for (const input of inputs) {
    if (failure !== undefined) {
      out.push({ ok: false, refused: false, error: `not stored: an earlier message failed (${failure})` });
      continue;
    }
    try {
      out.push(await appendOne(ctx, input));
    } catch (err) {
      if (err instanceof DomainError) out.push({ ok: false, refused: true, kind: err.kind, error: err.message });
      else {
        failure = err instanceof Error ? err.message : String(err);
        out.push({ ok: false, refused: false, error: failure });
      }
    }
  }
  return out;
}

/** Inserts the message of a change to the conversation itself, written by the store at `seq`, with its push outbox entry (two documents). */
async function insertSystemMessage(ctx: MongoContext, session: ClientSession, conversationId: string, seq: number, actorUserId: string, system: SystemEvent, now: number): Promise<MessageRecord> {
  const event = systemMessageRecord(conversationId, seq, actorUserId, system, now);
  await ctx.messages.insertOne(messageDoc(event), { session });
  await ctx.outbox.insertOne(outboxDoc(event), { session });
  return event;
}

/** The actor of a change has seen the conversation up to its system message. */
const actorSaw = (ctx: MongoContext, session: ClientSession, c: string, userId: string, seq: number) =>
  ctx.members.updateOne({ _id: ids.member(c, userId), conversationId: c, active: true }, { $max: { deliveredSeq: seq, readSeq: seq } }, { session });

/** The users a change may add: their index rows are written before it (see applyGroupChange). */
function joiners(input: GroupChangeInput): string[] {
  const c = input.change;
  if (c.kind === "create") return [input.actorUserId, ...c.memberUserIds];
  if (c.kind === "addMembers") return [...c.userIds];
  return [];
}

/**
 * See HistoryRepository.applyGroupChange. The new members' index rows (on their own shards)
 * are written first, idempotently; then the conversation's transaction. A row written for a
 * change that then fails is not shown (no member document), so a committed join always has
 * its row, with no repair step.
 */
export async function applyGroupChange(ctx: MongoContext, input: GroupChangeInput): Promise<GroupChangeOutcome> {
  const c = input.conversationId;
  // A group is never a message request.
  await ensureIndexRows(ctx, "applyGroupChange", joiners(input).map((userId) => ({ userId, conversationId: c, joinedAt: input.now, request: 0 })));
  return ctx.transaction("applyGroupChange", async (session, wrote) => {
    const before = await ctx.heads.findOne({ _id: ids.head(c), conversationId: c }, { session });
    const members = new Map<string, MemberRecord>();
    if (before) {
      const rows = await ctx.members.find({ conversationId: c, type: "member", userId: { $in: usersInvolved(input) } }, { session }).toArray();
      for (const m of rows) members.set(m.userId, toMember(m));
    }
    const plan = planGroupChange({ conversation: before ? toConversation(before) : undefined, members }, input);
    if (plan.create) {
      await ctx.heads.insertOne(newHead(c, "group", { ...plan.create, now: input.now, memberVersion: 0, memberCount: 0, blocked: 0 }), { session });
    }
    const seq = (before?.lastSeq ?? 0) + 1;
    const event = await insertSystemMessage(ctx, session, c, seq, input.actorUserId, plan.event, input.now);
    let written = 3;
    for (const op of plan.memberOps) {
      const filter = { _id: ids.member(c, op.userId), conversationId: c };
      if (op.op === "join") {
        // A member who joins at seq s starts with watermarks s - 1: nothing before is theirs to read.
        await ctx.members.updateOne(
          filter,
          {
            $set: { role: op.role, active: true, joinedSeq: seq, leftSeq: null, leftAt: null },
            $max: { deliveredSeq: seq - 1, readSeq: seq - 1 },
            $setOnInsert: { type: "member", userId: op.userId, request: 0, joinedAt: input.now } satisfies Partial<MemberDoc>,
          },
          { upsert: true, session },
        );
        await ctx.ranges.insertOne({ _id: ids.range(c, op.userId, seq), conversationId: c, type: "range", userId: op.userId, fromSeq: seq, toSeq: null }, { session });
        written += 2;
      } else if (op.op === "end") {
        await ctx.members.updateOne(filter, { $set: { active: false, role: null, leftSeq: seq, leftAt: input.now } }, { session });
        await ctx.ranges.updateOne({ conversationId: c, type: "range", userId: op.userId, toSeq: null }, { $set: { toSeq: seq } }, { session });
        written += 2;
      } else {
        await ctx.members.updateOne(filter, { $set: { role: op.role } }, { session });
        written += 1;
      }
    }
    const info = plan.info ?? plan.create ?? { title: before!.title, description: before!.description };
    const head = await ctx.heads.findOneAndUpdate(
      { _id: ids.head(c), conversationId: c },
      { $set: { lastSeq: seq, lastActivityAt: input.now, memberCount: plan.memberCount, title: info.title, description: info.description }, $inc: { memberVersion: 1 } },
      { session, returnDocument: "after" },
    );
    await actorSaw(ctx, session, c, input.actorUserId, seq);
    wrote(written + 1);
    return { event, memberVersion: head!.memberVersion, memberCount: plan.memberCount };
  });
}

/** See HistoryRepository.setRetention. */
export async function setRetention(ctx: MongoContext, input: RetentionChangeInput): Promise<GroupChangeOutcome> {
  const c = input.conversationId;
  return ctx.transaction("setRetention", async (session, wrote) => {
    const conv = await ctx.heads.findOne({ _id: ids.head(c), conversationId: c }, { session });
    if (!conv) throw notFound(`conversation ${c} not found`);
    const member = await ctx.members.findOne({ _id: ids.member(c, input.actorUserId), conversationId: c }, { session });
    if (!member?.active) throw permissionDenied(`not a member of conversation ${c}`);
    // Like a send: across a block nobody writes into the conversation.
    if (conv.blocked > 0) throw permissionDenied("messages between these users are blocked");
    if (conv.kind === "group" && member.role !== "admin" && member.role !== "owner") throw permissionDenied("only an admin or the owner may change a group's retention");
    const seq = conv.lastSeq + 1;
    const event = await insertSystemMessage(ctx, session, c, seq, input.actorUserId, retentionChangedEvent(input.actorUserId, input.retention), input.now);
    const head = await ctx.heads.findOneAndUpdate(
      { _id: conv._id, conversationId: c },
      { $set: { lastSeq: seq, lastActivityAt: input.now, retentionMode: input.retention.mode, retentionTtlSeconds: input.retention.ttlSeconds } },
      { session, returnDocument: "after" },
    );
    await actorSaw(ctx, session, c, input.actorUserId, seq);
    wrote(4);
    return { event, memberVersion: head!.memberVersion, memberCount: conv.memberCount };
  });
}
