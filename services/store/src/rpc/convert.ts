import { create } from "@bufbuild/protobuf";
import { timestampDate, timestampFromMs, type Timestamp } from "@bufbuild/protobuf/wkt";
import {
  ConversationKind,
  ConversationSchema,
  MemberReceiptSchema,
  MemberRole as ProtoRole,
  MessageSchema,
  ReceiptSummarySchema,
  RetentionMode as ProtoRetentionMode,
  type Conversation,
  type MemberReceipt,
  type Message,
  type ReceiptSummary,
  type Retention,
} from "@messenger/proto/chat/v1/types";
import type { SendMessage } from "@messenger/proto/gateway/v1/gateway_service";
import { MemberRangeSchema, MemberStateSchema, type MemberRange, type MemberState } from "@messenger/proto/store/v1/store_service";
import { invalidArgument } from "../domain/errors.js";
import { protoRetentionModes } from "../domain/retention.js";
import type { ConversationView } from "../domain/conversation-view.js";
import type {
  MemberRangeRecord,
  MemberRecord,
  MemberRole,
  MessageBody,
  MessageRecord,
  ReceiptRecord,
  ReceiptSummaryRecord,
  RetentionMode,
  RetentionPolicy,
} from "../storage/history-repository.js";

/** Store records to their proto shapes and back; nothing else in the rpc layer builds messages. */
function bodyToProto(b: MessageBody): Message["body"] {
  switch (b.kind) {
    case "text":
      return { case: "text", value: b.text };
    case "media":
      return { case: "media", value: b.media };
    case "ciphertext":
      return { case: "ciphertext", value: b.ciphertext };
    case "system":
      return { case: "system", value: b.system };
  }
}

export function messageToProto(m: MessageRecord): Message {
  return create(MessageSchema, {
    id: m.id,
    conversationId: m.conversationId,
    seq: BigInt(m.seq),
    senderUserId: m.senderUserId,
    senderDeviceId: m.senderDeviceId,
    clientMessageId: m.clientMessageId,
    body: bodyToProto(m.body),
    sentAt: timestampFromMs(m.sentAt),
    replyToSeq: BigInt(m.replyToSeq),
    ...(m.clientSentAt !== undefined ? { clientSentAt: timestampFromMs(m.clientSentAt) } : {}),
  });
}

/** A client's body; undefined when it set none. */
export function bodyFromSend(s: SendMessage): MessageBody | undefined {
  switch (s.body.case) {
    case "text":
      return { kind: "text", text: s.body.value };
    case "media":
      return { kind: "media", media: s.body.value };
    case "ciphertext":
      return { kind: "ciphertext", ciphertext: s.body.value };
    default:
      return undefined;
  }
}

export function msFromTimestamp(t: Timestamp | undefined): number | undefined {
  return t ? timestampDate(t).getTime() : undefined;
}

export function receiptToProto(r: ReceiptRecord): MemberReceipt {
  return create(MemberReceiptSchema, { userId: r.userId, deliveredSeq: BigInt(r.deliveredSeq), readSeq: BigInt(r.readSeq) });
}

export function summaryToProto(s: ReceiptSummaryRecord): ReceiptSummary {
  return create(ReceiptSummarySchema, { memberCount: s.memberCount, deliveredAllSeq: BigInt(s.deliveredAllSeq), readAllSeq: BigInt(s.readAllSeq) });
}

const roles: Record<MemberRole, ProtoRole> = { owner: ProtoRole.OWNER, admin: ProtoRole.ADMIN, member: ProtoRole.MEMBER };

export function roleToProto(r: MemberRole | undefined): ProtoRole {
  return r ? roles[r] : ProtoRole.UNSPECIFIED;
}

/** MEMBER or ADMIN, the roles SetRole may give; undefined for anything else. */
export function settableRoleFromProto(r: ProtoRole): "member" | "admin" | undefined {
  return r === ProtoRole.MEMBER ? "member" : r === ProtoRole.ADMIN ? "admin" : undefined;
}


/** A policy a request names; undefined for UNSPECIFIED or a mode we do not know. */
export function retentionModeFromProto(m: ProtoRetentionMode): RetentionMode | undefined {
  return (Object.keys(protoRetentionModes) as RetentionMode[]).find((k) => protoRetentionModes[k] === m);
}

/**
 * The retention a creating request asks for: absent or UNSPECIFIED is permanent, a mode we
 * do not know is INVALID_ARGUMENT. Its TTL is checked by the use case (checkRetention).
 */
export function creationRetentionFromProto(r: Retention | undefined, field: string): RetentionPolicy {
  if (!r || r.mode === ProtoRetentionMode.UNSPECIFIED) return { mode: "permanent", ttlSeconds: 0 };
  const mode = retentionModeFromProto(r.mode);
  if (!mode) throw invalidArgument(`${field}.mode ${r.mode} is not a retention mode`);
  return { mode, ttlSeconds: r.ttlSeconds };
}

export function memberStateToProto(m: MemberRecord): MemberState {
  return create(MemberStateSchema, { userId: m.userId, role: roleToProto(m.role), active: m.active, joinedSeq: BigInt(m.joinedSeq) });
}

export function rangeToProto(r: MemberRangeRecord): MemberRange {
  return create(MemberRangeSchema, { userId: r.userId, fromSeq: BigInt(r.fromSeq), toSeq: BigInt(r.toSeq ?? 0) });
}

export function conversationKindToProto(kind: "direct" | "group"): ConversationKind {
  return kind === "group" ? ConversationKind.GROUP : ConversationKind.DIRECT;
}

export function conversationViewToProto(v: ConversationView): Conversation {
  const c = v.conversation;
  return create(ConversationSchema, {
    id: c.id,
    kind: conversationKindToProto(c.kind),
    memberUserIds: v.memberUserIds,
    lastSeq: BigInt(v.lastSeq),
    lastActivityAt: timestampFromMs(v.lastActivityAt),
    ...(v.lastMessage ? { lastMessage: messageToProto(v.lastMessage) } : {}),
    unreadCount: BigInt(v.unreadCount),
    receipts: v.receipts.map(receiptToProto),
    title: c.title,
    description: c.description,
    memberCount: c.memberCount,
    role: roleToProto(v.member.role),
    isMember: v.member.active,
    minSeq: BigInt(c.minSeq),
    ...(v.summary ? { receiptSummary: summaryToProto(v.summary) } : {}),
    large: v.large,
    retention: { mode: protoRetentionModes[c.retention.mode] ?? ProtoRetentionMode.PERMANENT, ttlSeconds: c.retention.ttlSeconds },
    request: v.request,
  });
}

/** A uint64 from the wire as a safe JS number; larger values are clamped (seqs never get there). */
export function seqFromWire(v: bigint): number {
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
}
