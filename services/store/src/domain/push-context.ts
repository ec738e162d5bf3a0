import type { HistoryRepository } from "../storage/history-repository.js";
import { invalidArgument } from "./errors.js";
import { unreadOf, visibleIntervals } from "./visibility.js";

/** Conversations of a user's index read per page when the badge is summed. */
const indexPage = 500;

/** What the push worker needs to know about one user and one message (StoreService.GetPushContext). */
export interface PushContext {
  readonly deliveredSeqs: ReadonlyMap<string, number>;
  readonly unreadCount: number;
  readonly preview: { readonly senderUserId: string; readonly text: string } | undefined;
}

/**
 * The devices' delivered watermarks, the user's unread total over the conversations of their
 * inbox (a request is not counted until accepted), and the message's text when it is a text
 * the user may see (inside one of their ranges, not deleted).
 */
export async function pushContext(
  repo: HistoryRepository,
  req: { userId: string; conversationId: string; seq: number; deviceIds: readonly string[]; withPreview: boolean },
): Promise<PushContext> {
  if (!req.userId || !req.conversationId) throw invalidArgument("user_id and conversation_id are required");
  if (req.deviceIds.length > 100) throw invalidArgument("at most 100 device ids");
  const [delivered, unreadCount, preview] = await Promise.all([
    repo.deliveredByDevice(req.conversationId, req.deviceIds.map((deviceId) => ({ userId: req.userId, deviceId }))),
    unreadTotal(repo, req.userId),
    req.withPreview ? previewOf(repo, req) : undefined,
  ]);
  return { deliveredSeqs: new Map(delivered.map((d) => [d.deviceId, d.deliveredSeq])), unreadCount, preview };
}

/** The user's unread messages over the conversations of their inbox (a request counts once accepted). */
async function unreadTotal(repo: HistoryRepository, userId: string): Promise<number> {
  let total = 0;
  for (let after = ""; ; ) {
    const page = await repo.userConversations(userId, after, indexPage);
    for (const uc of page) if (!uc.request) total += unreadOf(uc.conversation, uc.member);
    if (page.length < indexPage) return total;
    after = page.at(-1)!.conversation.id;
  }
}

async function previewOf(repo: HistoryRepository, req: { userId: string; conversationId: string; seq: number }): Promise<PushContext["preview"]> {
  const conv = await repo.getConversation(req.conversationId);
  if (!conv) return undefined;
  const visible = visibleIntervals(conv, await repo.rangesOf(req.conversationId, req.userId)).some((i) => i.from <= req.seq && req.seq <= i.to);
  if (!visible) return undefined;
  const [m] = await repo.messagesAt(req.conversationId, [req.seq]);
  return m?.body.kind === "text" ? { senderUserId: m.senderUserId, text: m.body.text } : undefined;
}
