import type { HistoryRepository } from "../storage/history-repository.js";
import { invalidArgument } from "./errors.js";
import { visibleIntervals, visibleLastSeq } from "./visibility.js";

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
  const delivered = await repo.deliveredByDevice(req.conversationId, req.deviceIds.map((deviceId) => ({ userId: req.userId, deviceId })));
  let unreadCount = 0;
  for (let after = ""; ; ) {
    const page = await repo.userConversations(req.userId, after, indexPage);
    for (const uc of page) if (!uc.request) unreadCount += Math.max(0, visibleLastSeq(uc.conversation, uc.member) - uc.member.readSeq);
    if (page.length < indexPage) break;
    after = page.at(-1)!.conversation.id;
  }
  return { deliveredSeqs: new Map(delivered.map((d) => [d.deviceId, d.deliveredSeq])), unreadCount, preview: req.withPreview ? await previewOf(repo, req) : undefined };
}

async function previewOf(repo: HistoryRepository, req: { userId: string; conversationId: string; seq: number }): Promise<PushContext["preview"]> {
  const conv = await repo.getConversation(req.conversationId);
  if (!conv) return undefined;
  const visible = visibleIntervals(conv, await repo.rangesOf(req.conversationId, req.userId)).some((i) => i.from <= req.seq && req.seq <= i.to);
  if (!visible) return undefined;
  const [m] = await repo.messagesAt(req.conversationId, [req.seq]);
  return m?.body.kind === "text" ? { senderUserId: m.senderUserId, text: m.body.text } : undefined;
}
