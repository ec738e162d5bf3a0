import type { HistoryRepository, MessageRecord, ReceiptRecord, ReceiptSummaryRecord, UserConversation } from "../storage/history-repository.js";
import { limits } from "./limits.js";
import { requireId } from "./membership.js";
import { decodePageToken, encodePageToken } from "./page-token.js";
import { countVisible, readVisible, visibleIntervals, visibleLastSeq, type SeqInterval } from "./visibility.js";

/** What a device says it holds of a conversation. */
export interface SyncCursor {
  readonly seq: number;
  readonly receiptsVersion: number;
}

/** One conversation's head and what the device misses of it. */
export interface SyncedConversation {
  readonly conversationId: string;
  /** Missed messages the user may see, ascending; empty for a large group or on reset. */
  readonly messages: MessageRecord[];
  /** Current members' receipts, when they moved after the device's receipts version (not for a large group). */
  readonly receipts: ReceiptRecord[];
  /** The device missed more than the replay bound: it must reload through history. */
  readonly reset: boolean;
  /** The newest seq the user may see. */
  readonly lastSeq: number;
  readonly receiptsVersion: number;
  /** The aggregate over current members, when the receipts moved. */
  readonly summary: ReceiptSummaryRecord | undefined;
  readonly large: boolean;
  /** The device had everything: nothing else is set. */
  readonly unchanged: boolean;
}

/** One page of a sync. */
export interface SyncPage {
  readonly conversations: SyncedConversation[];
  /** Empty on the last page. */
  readonly nextPageToken: string;
}

/** A sync request, after the rpc layer read it. */
export interface SyncRequestInput {
  readonly userId: string;
  readonly deviceId: string;
  readonly cursors: ReadonlyMap<string, SyncCursor>;
  readonly maxMessages: number;
  readonly maxReplayPerConversation: number;
  readonly pageToken: string;
  readonly largeGroupThreshold: number;
}

/**
 * Pages through the user's conversations in conversation id order: one indexed read of the
 * user index and one batched read of the heads (and the user's membership rows), one batched
 * read of the device's server-kept watermarks for the conversations it sent no cursor for;
 * messages and receipts are read only for conversations that changed for the device, so the
 * work beyond the heads is proportional to what changed. A device's cursor is the one it
 * sent, else the delivered watermark the server keeps for it, else 0. A page stops taking
 * conversations once it holds max_messages messages (it always holds at least one).
 */
export async function syncDevice(repo: HistoryRepository, req: SyncRequestInput): Promise<SyncPage> {
  requireId(req.userId, "user_id");
  requireId(req.deviceId, "device_id");
  const [after] = req.pageToken ? decodePageToken(req.pageToken, ["string"] as const) : [""];
  const perPage = limits.syncConversationsPerPage;
  const rows = await repo.userConversations(req.userId, after, perPage + 1);
  let more = rows.length > perPage;
  const page = rows.slice(0, perPage);
  const kept = await repo.deviceCursors(
    req.userId,
    req.deviceId,
    page.filter((r) => !req.cursors.has(r.conversation.id)).map((r) => r.conversation.id),
  );
  const conversations: SyncedConversation[] = [];
  let count = 0;
  for (const row of page) {
    if (conversations.length > 0 && count >= req.maxMessages) {
      more = true;
      break;
    }
    const id = row.conversation.id;
    const cursor = req.cursors.get(id) ?? { seq: kept.get(id)?.deliveredSeq ?? 0, receiptsVersion: 0 };
    const synced = await syncOne(repo, row, cursor, req);
    count += synced.messages.length;
    conversations.push(synced);
  }
  const last = conversations.at(-1);
  return { conversations, nextPageToken: more && last ? encodePageToken([last.conversationId]) : "" };
}

async function syncOne(repo: HistoryRepository, row: UserConversation, cursor: SyncCursor, req: SyncRequestInput): Promise<SyncedConversation> {
  const { conversation: conv, member } = row;
  const lastSeq = visibleLastSeq(conv, member);
  const large = conv.memberCount > req.largeGroupThreshold;
  // A former member no longer follows the receipts of the members who stayed.
  const receiptsMoved = member.active && conv.receiptsVersion > cursor.receiptsVersion;
  const head = { conversationId: conv.id, lastSeq, receiptsVersion: conv.receiptsVersion, large };
  if (cursor.seq >= lastSeq && !receiptsMoved) {
    return { ...head, messages: [], receipts: [], reset: false, summary: undefined, unchanged: true };
  }
  let messages: MessageRecord[] = [];
  let reset = false;
  if (!large && cursor.seq < lastSeq) {
    // The common case needs no range read: an active member whose current range starts at or
    // before the cursor sees every seq after it.
    const intervals: SeqInterval[] =
      member.active && member.joinedSeq <= cursor.seq + 1 && conv.minSeq <= cursor.seq + 1
        ? [{ from: cursor.seq + 1, to: lastSeq }]
        : visibleIntervals(conv, await repo.rangesOf(conv.id, member.userId));
    const missed = countVisible(intervals, cursor.seq, lastSeq);
    reset = missed > req.maxReplayPerConversation;
    if (!reset && missed > 0) {
      messages = (await readVisible(repo, conv.id, intervals, { afterSeq: cursor.seq, beforeSeq: lastSeq + 1, limit: missed, direction: "forward" })).messages;
    }
  }
  const [receipts, summary] = receiptsMoved
    ? await Promise.all([large ? Promise.resolve([]) : repo.receipts(conv.id), repo.receiptSummary(conv.id)])
    : [[], undefined];
  return { ...head, messages, receipts, reset, summary, unchanged: false };
}
