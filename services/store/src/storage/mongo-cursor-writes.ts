import type { ClientSession } from "mongodb";
import { DomainError, notFound, permissionDenied } from "../domain/errors.js";
import type { CursorOutcome, ReceiptRecord, ReceiptSummaryRecord } from "./history-repository.js";
import type { MongoContext } from "./mongo-context.js";
import { ids } from "./mongo-documents.js";

/**
 * The aggregate over current members: each side is the first entry of its
 * (conversation, active, watermark) index, never a scan of the members.
 */
export async function receiptSummaryOf(ctx: MongoContext, conversationId: string, memberCount: number, session?: ClientSession): Promise<ReceiptSummaryRecord> {
  const lowest = async (field: "deliveredSeq" | "readSeq"): Promise<number> => {
    const first = await ctx.members.findOne({ conversationId, type: "member", active: true }, { sort: { [field]: 1 }, projection: { [field]: 1 }, session });
    return first?.[field] ?? 0;
  };
  const deliveredAllSeq = await lowest("deliveredSeq");
  const readAllSeq = await lowest("readSeq");
  return { memberCount, deliveredAllSeq, readAllSeq };
}

/**
 * See HistoryRepository.updateCursor. The member's receipt (and, in a group up to the large
 * threshold, the receipts version on the head) move in one transaction on the conversation's
 * shard; the device's own watermarks are then written on the user's shard. A crash between
 * the two leaves the device's cursor behind its receipt: it is sent again what it already
 * has, never told it has what it has not.
 */
export async function updateCursor(ctx: MongoContext, conversationId: string, userId: string, deviceId: string, delivered: number, read: number): Promise<CursorOutcome> {
  const c = conversationId;
  // A read message has necessarily been delivered.
  const deliveredSeq = Math.max(delivered, read);
  const out = await ctx.transaction("updateCursor", async (session, wrote) => {
    const head = await ctx.heads.findOne({ _id: ids.head(c), conversationId: c }, { session });
    if (!head) throw notFound(`conversation ${c} not found`);
    const member = await ctx.members.findOne({ _id: ids.member(c, userId), conversationId: c }, { session });
    if (!member) throw permissionDenied(`not a member of conversation ${c}`);
    const newest = member.active ? head.lastSeq : (member.leftSeq ?? 0);
    if (delivered > newest || read > newest) throw new DomainError("out_of_range", `seq beyond the newest message you may see (${newest})`);
    const receipt: ReceiptRecord = { userId, deliveredSeq: Math.max(member.deliveredSeq, deliveredSeq), readSeq: Math.max(member.readSeq, read) };
    const changed = receipt.deliveredSeq !== member.deliveredSeq || receipt.readSeq !== member.readSeq;
    const large = head.memberCount > ctx.largeGroupThreshold;
    let receiptsVersion = head.receiptsVersion;
    if (changed) {
      await ctx.members.updateOne({ _id: member._id, conversationId: c }, { $set: { deliveredSeq: receipt.deliveredSeq, readSeq: receipt.readSeq } }, { session });
      wrote(1);
      if (!large) {
        const bumped = await ctx.heads.findOneAndUpdate({ _id: head._id, conversationId: c }, { $inc: { receiptsVersion: 1 } }, { session, returnDocument: "after" });
        receiptsVersion = bumped!.receiptsVersion;
        wrote(1);
      }
    }
    // A large group's summary is read after the commit (see announceLargeGroupSummary).
    const announce = changed && large;
    const summary = announce ? undefined : await receiptSummaryOf(ctx, c, head.memberCount, session);
    return { changed, receipt, receiptsVersion, summary, memberVersion: head.memberVersion, memberCount: head.memberCount };
  });
  const cursor = await ctx.deviceCursors.updateOne(
    { _id: ids.deviceCursor(userId, deviceId, c), userId },
    { $max: { deliveredSeq, readSeq: read }, $setOnInsert: { deviceId, conversationId: c } },
    { upsert: true },
  );
  ctx.committed("updateCursor", cursor.modifiedCount + cursor.upsertedCount);
  const { summary, memberCount, ...rest } = out;
  if (summary) return { ...rest, summary };
  return { ...rest, ...(await announceLargeGroupSummary(ctx, c, memberCount)) };
}

/**
 * A large group's receipts version moves only when its summary moves, so a thousand members
 * reading do not each write the conversation's hot head. Transactions of two members
 * reading at once do not see each other's receipt (neither writes the head), so the summary
 * is read again after the commit, when every committed receipt is visible, and the version
 * moves with one conditional write when the summary differs from the one it last announced:
 * whichever of the racing readers writes last announces the summary both moves made.
 */
async function announceLargeGroupSummary(ctx: MongoContext, c: string, memberCount: number): Promise<{ summary: ReceiptSummaryRecord; receiptsVersion: number }> {
  const summary = await receiptSummaryOf(ctx, c, memberCount);
  const moved = await ctx.heads.findOneAndUpdate(
    {
      _id: ids.head(c),
      conversationId: c,
      $or: [{ announcedDeliveredAllSeq: { $ne: summary.deliveredAllSeq } }, { announcedReadAllSeq: { $ne: summary.readAllSeq } }],
    },
    { $set: { announcedDeliveredAllSeq: summary.deliveredAllSeq, announcedReadAllSeq: summary.readAllSeq }, $inc: { receiptsVersion: 1 } },
    { returnDocument: "after" },
  );
  if (moved) {
    ctx.committed("updateCursor", 1);
    return { summary, receiptsVersion: moved.receiptsVersion };
  }
  const head = await ctx.heads.findOne({ _id: ids.head(c), conversationId: c }, { projection: { receiptsVersion: 1 } });
  return { summary, receiptsVersion: head?.receiptsVersion ?? 0 };
}
