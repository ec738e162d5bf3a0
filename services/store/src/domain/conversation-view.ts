import type { ConversationRecord, HistoryRepository, MemberRecord, MessageRecord, ReceiptRecord, ReceiptSummaryRecord, UserConversation } from "../storage/history-repository.js";
import { unreadOf, visibleLastSeq } from "./visibility.js";

/** A conversation as one user sees it (inbox row, GetConversation, OpenDirectConversation). */
export interface ConversationView {
  readonly conversation: ConversationRecord;
  readonly member: MemberRecord;
  /** True while it is one of the user's pending message requests (not in their inbox). */
  readonly request: boolean;
  /** Members' user ids: a direct conversation only (a group's are paged through ListMembers). */
  readonly memberUserIds: string[];
  /** The newest seq the user may see. */
  readonly lastSeq: number;
  /** When the newest message the user may see was sent (creation time when none). */
  readonly lastActivityAt: number;
  readonly lastMessage: MessageRecord | undefined;
  readonly unreadCount: number;
  /** Every current member's receipts: direct conversations and groups up to the threshold. */
  readonly receipts: ReceiptRecord[];
  readonly summary: ReceiptSummaryRecord | undefined;
  readonly large: boolean;
}

/** When the user last saw activity: the conversation's for a member, their leaving for a former one. */
export function activityFor(conv: ConversationRecord, member: MemberRecord): number {
  return member.active ? conv.lastActivityAt : (member.leftAt ?? conv.lastActivityAt);
}

/**
 * Builds the user's view of conversations, reading per conversation only its newest visible
 * message, its receipts (not for a large group) and its summary. unread_count is an
 * approximation: the visible last seq minus the user's read watermark (exact unless the user
 * left and came back after their read watermark).
 */
export async function viewConversations(
  repo: HistoryRepository,
  rows: readonly Pick<UserConversation, "conversation" | "member" | "request">[],
  largeGroupThreshold: number,
): Promise<ConversationView[]> {
  return Promise.all(
    rows.map(async ({ conversation: conv, member, request }) => {
      const lastSeq = visibleLastSeq(conv, member);
      const large = conv.memberCount > largeGroupThreshold;
      const [lastMessage] = lastSeq > 0 && lastSeq >= conv.minSeq ? await repo.messagesAt(conv.id, [lastSeq]) : [];
      const direct = conv.kind === "direct";
      const receipts = member.active && !large ? await repo.receipts(conv.id) : [];
      return {
        conversation: conv,
        member,
        request,
        memberUserIds: direct ? receipts.map((r) => r.userId) : [],
        lastSeq,
        lastActivityAt: member.active ? conv.lastActivityAt : (lastMessage?.sentAt ?? activityFor(conv, member)),
        lastMessage,
        unreadCount: unreadOf(conv, member),
        receipts,
        summary: member.active ? await repo.receiptSummary(conv.id) : undefined,
        large,
      };
    }),
  );
}
