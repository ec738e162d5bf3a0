import { timestampMs } from "@bufbuild/protobuf/wkt";
import type { Message } from "@messenger/proto/chat/v1/types";
import type { MessageBody, MessageRecord } from "../storage/history-repository.js";

/**
 * A segment's message back to the store's record: the inverse of messageToProto (rpc/convert.ts),
 * which writes segments, so a message reads back from the archive as it read from the table.
 * Returns a string saying what is wrong instead of a record when the message could not have
 * been written by the store (no body, no sent time, a seq beyond a JS number).
 */
export function messageFromProto(m: Message): MessageRecord | string {
  const body = bodyFromProto(m.body);
  if (body === undefined) return "has no body";
  if (m.sentAt === undefined) return "has no sent time";
  if (m.seq > BigInt(Number.MAX_SAFE_INTEGER) || m.replyToSeq > BigInt(Number.MAX_SAFE_INTEGER)) return "has a seq beyond 2^53";
  return {
    id: m.id,
    conversationId: m.conversationId,
    seq: Number(m.seq),
    senderUserId: m.senderUserId,
    senderDeviceId: m.senderDeviceId,
    clientMessageId: m.clientMessageId,
    body,
    replyToSeq: Number(m.replyToSeq),
    clientSentAt: m.clientSentAt === undefined ? undefined : timestampMs(m.clientSentAt),
    sentAt: timestampMs(m.sentAt),
  };
}

function bodyFromProto(b: Message["body"]): MessageBody | undefined {
  switch (b.case) {
    case "text":
      return { kind: "text", text: b.value };
    case "media":
      return { kind: "media", media: b.value };
    case "ciphertext":
      return { kind: "ciphertext", ciphertext: b.value };
    case "system":
      return { kind: "system", system: b.value };
    default:
      return undefined;
  }
}
