import { create } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import type { Logger } from "@messenger/logging";
import { ConversationKind, ConversationSchema, MemberRole, type Conversation, type Message } from "@messenger/proto/chat/v1/types";
import type { HistoryService } from "@messenger/proto/history/v1/history_service";
import { roleToProto } from "../adapters/store-group-store.js";
import { peerHeaders, type PeerCall } from "../adapters/peer-call.js";
import type { Committed } from "../domain/group-ports.js";
import type { GroupView } from "../domain/group-use-cases.js";

/** How long CreateGroup and GetGroup wait for the history view before answering with the header alone. */
export const historyViewTimeoutMs = 2_000;

/** A group's header as its reader sees it, built from the group state alone (no last message, unread count or receipts). */
export function conversationFromView(view: GroupView): Conversation {
  const { state, membership } = view;
  return create(ConversationSchema, {
    id: state.conversationId,
    kind: ConversationKind.GROUP,
    title: state.title,
    description: state.description,
    memberCount: state.memberCount,
    lastSeq: state.lastSeq,
    role: membership.active ? roleToProto(membership.role) : MemberRole.UNSPECIFIED,
    isMember: membership.active,
  });
}

/** A new group as its owner sees it, built from the committed change alone. */
export function conversationAfterCreate(conversationId: string, title: string, description: string, committed: Committed<Message>): Conversation {
  const event = committed.event;
  const created = event.body.case === "system" && event.body.value.event.case === "groupCreated" ? event.body.value.event.value : undefined;
  return create(ConversationSchema, {
    id: conversationId,
    kind: ConversationKind.GROUP,
    title,
    description,
    memberCount: committed.memberCount,
    lastSeq: event.seq,
    ...(event.sentAt ? { lastActivityAt: event.sentAt } : {}),
    lastMessage: event,
    role: MemberRole.OWNER,
    isMember: true,
    // The retention the store committed, as its first message carries it.
    ...(created?.retention ? { retention: created.retention } : {}),
  });
}

/**
 * The conversation as the caller sees it in their inbox (HistoryService.GetConversation,
 * called with the caller's own token), when a history client is configured. Without one,
 * or when it fails or is slow, `fallback` (the header built here): the change is already
 * committed, or the read already authorized, so a missing enrichment is logged, not fatal.
 */
export async function callerConversation(
  history: Client<typeof HistoryService> | undefined,
  call: PeerCall,
  conversationId: string,
  fallback: () => Conversation,
  log: Logger,
): Promise<Conversation> {
  if (!history) return fallback();
  try {
    const res = await history.getConversation(
      { conversationId },
      { headers: peerHeaders(call, true), timeoutMs: historyViewTimeoutMs, signal: AbortSignal.any([call.signal, AbortSignal.timeout(historyViewTimeoutMs)]) },
    );
    if (res.conversation) return res.conversation;
  } catch (err) {
    if (call.signal.aborted) throw err;
    log.warn({ err, conversationId, requestId: call.requestId }, "history view of a group unavailable; answering with its header");
  }
  return fallback();
}
