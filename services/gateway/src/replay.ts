import type { Client } from "@connectrpc/connect";
import type { ResumeState } from "@messenger/proto/gateway/v1/gateway_service";
import type { StoreService } from "@messenger/proto/store/v1/store_service";
import type { Session } from "./session.js";

const syncPageMessages = 200;

interface SyncCursor {
  readonly conversationId: string;
  readonly seq: bigint;
  readonly receiptsVersion: bigint;
}

/** No receipts version is above it: the store then sends no receipts, so a resync reads messages, not every receipt again. */
const skipReceipts = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Replays what the device missed since its cursors, paced by the session's outbound queue,
 * and ends with sync_complete. It runs after the session is registered, so every message
 * stored after the store read a conversation reaches the session live (routers read the
 * registry consistently); the feeds merge the two without loss or duplicates.
 *
 * Every conversation of the user is listed by the store with its head, so afterwards the
 * session knows, for each, up to which seq the device is served.
 */
export async function replay(
  store: Client<typeof StoreService>,
  session: Session,
  resume: ResumeState | undefined,
  maxReplayPerConversation: number,
): Promise<void> {
  const cursors = (resume?.cursors ?? []).map((c) => ({ conversationId: c.conversationId, seq: c.seq, receiptsVersion: c.receiptsVersion }));
  const replayed = await syncPass(store, session, cursors, maxReplayPerConversation);
  if (replayed === undefined) return;
  session.enqueue({ frame: { case: "syncComplete", value: { syncVersion: 0n, replayedMessages: replayed } } });
  session.finishSync();
}

/**
 * Catches a live session up after the bus link was down (deliveries published meanwhile
 * are lost): the store is read from the seqs the session already has, and the feeds take
 * what is missing, in order, without duplicates. Receipts are not read again: a lost
 * receipt frame is overtaken by the next one (watermarks only move forward) or a resume.
 * Returns the messages it delivered.
 */
export async function resync(store: Client<typeof StoreService>, session: Session, maxReplayPerConversation: number): Promise<number> {
  const cursors = [...session.feeds.positions()].map(([conversationId, seq]) => ({ conversationId, seq, receiptsVersion: skipReceipts }));
  return (await syncPass(store, session, cursors, maxReplayPerConversation)) ?? 0;
}

/** One pass of Sync over the user's conversations into the session; undefined if the session closed. */
async function syncPass(
  store: Client<typeof StoreService>,
  session: Session,
  cursors: SyncCursor[],
  maxReplayPerConversation: number,
): Promise<number | undefined> {
  let replayed = 0;
  let pageToken = "";
  do {
    await session.roomFor();
    if (session.isClosed) return undefined;
    const page = await store.sync({
      userId: session.userId,
      deviceId: session.deviceId,
      cursors,
      maxMessages: syncPageMessages,
      maxReplayPerConversation,
      pageToken,
    });
    for (const c of page.conversations) {
      if (c.large) session.markLarge(c.conversationId);
      if (c.unchanged) {
        session.feeds.settle(c.conversationId, [], c.lastSeq);
        continue;
      }
      await session.roomFor();
      if (session.isClosed) return undefined;
      if (c.large) {
        session.feeds.settle(c.conversationId, [], c.lastSeq);
        session.enqueue({ frame: { case: "conversationUpdated", value: { conversationId: c.conversationId, lastSeq: c.lastSeq } } });
      } else if (c.reset) {
        session.enqueue({ frame: { case: "reset", value: { conversationId: c.conversationId, lastSeq: c.lastSeq } } });
        session.feeds.settle(c.conversationId, [], c.lastSeq);
      } else {
        // Paced message by message so a long replay never trips the slow-consumer bound.
        for (const m of c.messages) {
          await session.roomFor();
          if (session.isClosed) return undefined;
          if ((session.feeds.deliveredOf(c.conversationId) ?? 0n) < m.seq) replayed++;
          session.feeds.settle(c.conversationId, [m], m.seq);
        }
        session.feeds.settle(c.conversationId, [], c.lastSeq);
      }
      for (const r of c.receipts) {
        session.enqueue({ frame: { case: "receipt", value: { conversationId: c.conversationId, receipt: r, receiptsVersion: c.receiptsVersion, summary: c.summary } } });
      }
      if (c.receipts.length === 0 && c.summary) {
        session.enqueue({ frame: { case: "receiptSummary", value: { conversationId: c.conversationId, summary: c.summary, receiptsVersion: c.receiptsVersion } } });
      }
    }
    pageToken = page.nextPageToken;
  } while (pageToken);
  return replayed;
}
