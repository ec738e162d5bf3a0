import type { HistoryRepository, MessageRecord, ReceiptRecord } from "../storage/history-repository.js";
import { limits } from "./limits.js";

/** What changed in one conversation since the device's cursor. */
export interface SyncedConversation {
  readonly conversationId: string;
  readonly messages: MessageRecord[];
  readonly receipts: ReceiptRecord[];
  /** True when the device missed more than the replay bound: it must reload via history. */
  readonly reset: boolean;
  readonly lastSeq: number;
}

/** One page of a sync. */
export interface SyncPage {
  readonly conversations: SyncedConversation[];
  readonly version: number;
  readonly complete: boolean;
}

/**
 * Collects what a device missed: only conversations whose version moved after
 * `sinceVersion`, and in each only messages after the device's cursor (its own, or else the
 * delivered watermark the server keeps for it), so the work is proportional to what changed.
 */
export async function syncDevice(
  repo: HistoryRepository,
  req: {
    userId: string;
    deviceId: string;
    sinceVersion: number;
    cursors: ReadonlyMap<string, number>;
    maxMessages: number;
    maxReplayPerConversation: number;
  },
): Promise<SyncPage> {
  const changes = await repo.changesSince(req.userId, req.sinceVersion, limits.syncChangesPerPage);
  const conversations: SyncedConversation[] = [];
  let version = req.sinceVersion;
  let count = 0;
  for (const change of changes) {
    if (conversations.length > 0 && count >= req.maxMessages) return { conversations, version, complete: false };
    const conv = await repo.getConversation(change.conversationId);
    version = change.version;
    if (!conv) continue;
    const from = req.cursors.get(conv.id) ?? (await repo.deviceCursor(conv.id, req.userId, req.deviceId)).deliveredSeq;
    const missed = conv.lastSeq - from;
    const reset = missed > req.maxReplayPerConversation;
    const messages = !reset && missed > 0 ? await repo.listMessages(conv.id, { afterSeq: from, limit: missed, direction: "forward" }) : [];
    count += messages.length;
    conversations.push({ conversationId: conv.id, messages, receipts: await repo.receipts(conv.id), reset, lastSeq: conv.lastSeq });
  }
  return { conversations, version, complete: changes.length < limits.syncChangesPerPage };
}
