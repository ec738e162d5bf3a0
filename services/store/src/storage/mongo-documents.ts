import { Binary } from "mongodb";
import type { SegmentIndexEntry } from "../archive/segment-index.js";
import { decodeBody, encodeBody } from "./message-body-codec.js";
import type { ConversationKind, ConversationRecord, MemberRecord, MemberRole, MessageBody, MessageRecord, RetentionMode, RetentionPolicy } from "./history-repository.js";

/*
 * The documents of the MongoDB adapter and their codecs. Every document of the
 * `conversations` collection carries `conversationId` (the shard key) and `type`; its _id is
 * built from the conversation id and what the document is, so an _id can only ever live on
 * its conversation's shard and the per-shard _id index is unique cluster-wide.
 */

/** The conversation's head. */
export interface HeadDoc {
  _id: string;
  conversationId: string;
  type: "conversation";
  kind: ConversationKind;
  title: string;
  description: string;
  lastSeq: number;
  lastActivityAt: number;
  createdAt: number;
  minSeq: number;
  memberVersion: number;
  memberCount: number;
  receiptsVersion: number;
  retentionMode: RetentionMode;
  retentionTtlSeconds: number;
  /** How many of a direct conversation's two users block the other (0 for a group). */
  blocked: number;
  /**
   * A large group's receipt summary as of its receipts_version's last move (see updateCursor):
   * the version moves when the live summary differs from this.
   */
  announcedDeliveredAllSeq: number;
  announcedReadAllSeq: number;
  /** The highest seq in an archived segment (0: none). */
  archivedThrough: number;
}

export interface MemberDoc {
  _id: string;
  conversationId: string;
  type: "member";
  userId: string;
  role: MemberRole | null;
  active: boolean;
  joinedSeq: number;
  leftSeq: number | null;
  leftAt: number | null;
  deliveredSeq: number;
  readSeq: number;
  /**
   * The folder this user's index row starts in (1: message requests): what a repair of a
   * missing index row writes. Cleared when the pair become contacts.
   */
  request: 0 | 1;
  joinedAt: number;
}

export interface RangeDoc {
  _id: string;
  conversationId: string;
  type: "range";
  userId: string;
  fromSeq: number;
  toSeq: number | null;
}

/**
 * The stances of a direct pair, kept by the pair's conversation id whether or not the
 * conversation exists: who blocks the other, who says they are contacts.
 */
export interface RelationDoc {
  _id: string;
  conversationId: string;
  type: "relation";
  blocking: string[];
  contact: string[];
  /** Set by the open that created the conversation (its write orders it against a relation change). */
  opened: boolean;
}

export interface MessageDoc {
  _id: string;
  conversationId: string;
  type: "message";
  seq: number;
  id: string;
  senderUserId: string;
  senderDeviceId: string;
  clientMessageId: string;
  bodyKind: MessageBody["kind"];
  text: string;
  /** Protobuf bytes of a media, ciphertext or system body; null for text. */
  body: Binary | null;
  replyToSeq: number;
  clientSentAt: number | null;
  sentAt: number;
}

/**
 * A stored message's reference to a media (what the media service's cleanup asks about).
 * Written with its message; deleted with it by retention, but not by archiving: an archived
 * message still references its media.
 */
export interface MediaRefDoc {
  _id: string;
  conversationId: string;
  type: "media";
  seq: number;
  mediaId: string;
}

/** An archived segment's index entry (see SegmentIndexEntry). */
export interface SegmentDoc {
  _id: string;
  conversationId: string;
  type: "segment";
  fromSeq: number;
  toSeq: number;
  key: string;
  sha256: string;
  count: number;
  bytes: number;
  firstSentAt: number;
  lastSentAt: number;
}

/** A segment's blob that no index entry names any more, to delete from the blob store. */
export interface GarbageDoc {
  _id: string;
  conversationId: string;
  type: "garbage";
  key: string;
  since: number;
}

/** A stored message's push outbox entry (see HistoryRepository.claimPushOutbox). */
export interface OutboxDoc {
  _id: string;
  conversationId: string;
  type: "outbox";
  seq: number;
  messageId: string;
  senderUserId: string;
  sentAt: number;
  /** Leased to a relay until then (epoch milliseconds); 0 when never leased. */
  claimedUntil: number;
}

export type ConversationsDoc = HeadDoc | MemberDoc | RangeDoc | RelationDoc | MessageDoc | MediaRefDoc | SegmentDoc | GarbageDoc | OutboxDoc;

export interface UserConversationDoc {
  _id: string;
  userId: string;
  conversationId: string;
  joinedAt: number;
  request: 0 | 1;
  hiddenSeq: number;
}

export interface DeviceCursorDoc {
  _id: string;
  userId: string;
  deviceId: string;
  conversationId: string;
  deliveredSeq: number;
  readSeq: number;
}

// encodeURIComponent escapes ":", so the parts of an id can never run into each other.
const key = (...parts: (string | number)[]): string => parts.map((p) => encodeURIComponent(String(p))).join(":");

export const ids = {
  head: (c: string): string => key("h", c),
  member: (c: string, userId: string): string => key("m", c, userId),
  range: (c: string, userId: string, fromSeq: number): string => key("r", c, userId, fromSeq),
  relation: (c: string): string => key("d", c),
  message: (c: string, seq: number): string => key("s", c, seq),
  media: (c: string, seq: number): string => key("f", c, seq),
  segment: (c: string, fromSeq: number): string => key("a", c, fromSeq),
  garbage: (c: string, blobKey: string): string => key("g", c, blobKey),
  outbox: (c: string, seq: number): string => key("o", c, seq),
  userConversation: (userId: string, c: string): string => key(userId, c),
  deviceCursor: (userId: string, deviceId: string, c: string): string => key(userId, deviceId, c),
};

export function messageDoc(m: MessageRecord): MessageDoc {
  const body = encodeBody(m.body);
  return {
    _id: ids.message(m.conversationId, m.seq),
    conversationId: m.conversationId,
    type: "message",
    seq: m.seq,
    id: m.id,
    senderUserId: m.senderUserId,
    senderDeviceId: m.senderDeviceId,
    clientMessageId: m.clientMessageId,
    bodyKind: body.kind,
    text: body.text,
    body: body.bytes ? new Binary(body.bytes) : null,
    replyToSeq: m.replyToSeq,
    clientSentAt: m.clientSentAt ?? null,
    sentAt: m.sentAt,
  };
}

export const toMessage = (d: MessageDoc): MessageRecord => ({
  id: d.id,
  conversationId: d.conversationId,
  seq: d.seq,
  senderUserId: d.senderUserId,
  senderDeviceId: d.senderDeviceId,
  clientMessageId: d.clientMessageId,
  body: decodeBody(d.bodyKind, d.text, d.body ? d.body.value() : null),
  replyToSeq: d.replyToSeq,
  clientSentAt: d.clientSentAt ?? undefined,
  sentAt: d.sentAt,
});

export const toConversation = (d: HeadDoc): ConversationRecord => ({
  id: d.conversationId,
  kind: d.kind,
  title: d.title,
  description: d.description,
  lastSeq: d.lastSeq,
  lastActivityAt: d.lastActivityAt,
  createdAt: d.createdAt,
  minSeq: d.minSeq,
  memberVersion: d.memberVersion,
  memberCount: d.memberCount,
  receiptsVersion: d.receiptsVersion,
  retention: { mode: d.retentionMode, ttlSeconds: d.retentionTtlSeconds },
  blocked: d.blocked > 0,
});

export const toMember = (d: MemberDoc): MemberRecord => ({
  conversationId: d.conversationId,
  userId: d.userId,
  role: d.role ?? undefined,
  active: d.active,
  joinedSeq: d.joinedSeq,
  leftSeq: d.leftSeq ?? undefined,
  leftAt: d.leftAt ?? undefined,
  deliveredSeq: d.deliveredSeq,
  readSeq: d.readSeq,
});

/** A new conversation's head. */
export function newHead(
  c: string,
  kind: ConversationKind,
  init: { title: string; description: string; now: number; memberVersion: number; memberCount: number; blocked: number; retention: RetentionPolicy },
): HeadDoc {
  return {
    _id: ids.head(c),
    conversationId: c,
    type: "conversation",
    kind,
    title: init.title,
    description: init.description,
    lastSeq: 0,
    lastActivityAt: init.now,
    createdAt: init.now,
    minSeq: 0,
    memberVersion: init.memberVersion,
    memberCount: init.memberCount,
    receiptsVersion: 0,
    retentionMode: init.retention.mode,
    retentionTtlSeconds: init.retention.ttlSeconds,
    blocked: init.blocked,
    announcedDeliveredAllSeq: 0,
    announcedReadAllSeq: 0,
    archivedThrough: 0,
  };
}

/** The media reference of a message, when its body is a media. */
export const mediaRefDoc = (m: MessageRecord): MediaRefDoc | undefined =>
  m.body.kind === "media" ? { _id: ids.media(m.conversationId, m.seq), conversationId: m.conversationId, type: "media", seq: m.seq, mediaId: m.body.media.mediaId } : undefined;

export const segmentDoc = (e: SegmentIndexEntry): SegmentDoc => ({
  _id: ids.segment(e.conversationId, e.fromSeq),
  conversationId: e.conversationId,
  type: "segment",
  fromSeq: e.fromSeq,
  toSeq: e.toSeq,
  key: e.key,
  sha256: e.sha256,
  count: e.count,
  bytes: e.bytes,
  firstSentAt: e.firstSentAt,
  lastSentAt: e.lastSentAt,
});

export const toSegment = (d: SegmentDoc): SegmentIndexEntry => ({
  conversationId: d.conversationId,
  fromSeq: d.fromSeq,
  toSeq: d.toSeq,
  key: d.key,
  sha256: d.sha256,
  count: d.count,
  bytes: d.bytes,
  firstSentAt: d.firstSentAt,
  lastSentAt: d.lastSentAt,
});

/** A new message's push outbox entry, written in the message's transaction. */
export const outboxDoc = (m: MessageRecord): OutboxDoc => ({
  _id: ids.outbox(m.conversationId, m.seq),
  conversationId: m.conversationId,
  type: "outbox",
  seq: m.seq,
  messageId: m.id,
  senderUserId: m.senderUserId,
  sentAt: m.sentAt,
  claimedUntil: 0,
});
