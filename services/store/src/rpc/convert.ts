import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  ConversationKind,
  ConversationSchema,
  MemberReceiptSchema,
  MessageSchema,
  type Conversation,
  type MemberReceipt,
  type Message,
} from "@messenger/proto/chat/v1/types";
import type { InboxItem } from "../domain/list-inbox.js";
import type { ConversationRecord, MessageRecord, ReceiptRecord } from "../storage/history-repository.js";

/** Store records to their proto shapes; nothing else in the rpc layer builds messages. */
export function messageToProto(m: MessageRecord): Message {
  return create(MessageSchema, {
    id: m.id,
    conversationId: m.conversationId,
    seq: BigInt(m.seq),
    senderUserId: m.senderUserId,
    senderDeviceId: m.senderDeviceId,
    clientMessageId: m.clientMessageId,
    text: m.text,
    sentAt: timestampFromMs(m.sentAt),
  });
}

export function receiptToProto(r: ReceiptRecord): MemberReceipt {
  return create(MemberReceiptSchema, { userId: r.userId, deliveredSeq: BigInt(r.deliveredSeq), readSeq: BigInt(r.readSeq) });
}

export function conversationToProto(
  c: ConversationRecord,
  extra: { lastMessage?: MessageRecord | undefined; receipts: ReceiptRecord[]; unreadCount: number },
): Conversation {
  return create(ConversationSchema, {
    id: c.id,
    kind: ConversationKind.DIRECT,
    memberUserIds: [...c.memberUserIds],
    lastSeq: BigInt(c.lastSeq),
    lastActivityAt: timestampFromMs(c.lastActivityAt),
    ...(extra.lastMessage ? { lastMessage: messageToProto(extra.lastMessage) } : {}),
    unreadCount: BigInt(extra.unreadCount),
    receipts: extra.receipts.map(receiptToProto),
  });
}

export function inboxItemToProto(i: InboxItem): Conversation {
  return conversationToProto(i.conversation, { lastMessage: i.lastMessage, receipts: i.receipts, unreadCount: i.unreadCount });
}

/** A uint64 from the wire as a safe JS number; larger values are clamped (seqs never get there). */
export function seqFromWire(v: bigint): number {
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
}
