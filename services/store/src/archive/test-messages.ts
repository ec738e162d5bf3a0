import { create } from "@bufbuild/protobuf";
import { CiphertextSchema, MediaRefSchema, MembersAddedSchema, SystemEventSchema } from "@messenger/proto/chat/v1/types";
import type { MessageRecord } from "../storage/history-repository.js";

/** Test messages of every body kind, as the store would hold them. */

/** A text message at `seq`; the rest derived from it so that equal seqs give equal records. */
export function textMessage(conversationId: string, seq: number, overrides: Partial<MessageRecord> = {}): MessageRecord {
  return {
    id: `${conversationId}-m${seq}`,
    conversationId,
    seq,
    senderUserId: `user-${seq % 3}`,
    senderDeviceId: `device-${seq % 2}`,
    clientMessageId: `client-${seq}`,
    body: { kind: "text", text: `message ${seq}` },
    replyToSeq: 0,
    clientSentAt: undefined,
    sentAt: 1_700_000_000_000 + seq * 1_000,
    ...overrides,
  };
}

/** One message of each body kind, with the optional fields set, at the seqs given. */
export function messagesOfEveryKind(conversationId: string, seqs: readonly [number, number, number, number]): MessageRecord[] {
  const [a, b, c, d] = seqs;
  return [
    textMessage(conversationId, a, { body: { kind: "text", text: "héllo 👋 with unicode" }, clientSentAt: 1_699_999_999_123 }),
    textMessage(conversationId, b, {
      body: {
        kind: "media",
        media: create(MediaRefSchema, {
          mediaId: "media-1",
          mimeType: "image/png",
          sizeBytes: 123_456n,
          width: 640,
          height: 480,
          thumbnail: new Uint8Array([1, 2, 3, 255]),
          fileName: "photo.png",
        }),
      },
      replyToSeq: a,
    }),
    textMessage(conversationId, c, {
      body: {
        kind: "ciphertext",
        ciphertext: create(CiphertextSchema, { ciphertext: new Uint8Array([9, 8, 7]), algorithm: "signal-v1", senderKeyId: "key-7" }),
      },
    }),
    textMessage(conversationId, d, {
      senderDeviceId: "",
      clientMessageId: `system:${d}`,
      body: {
        kind: "system",
        system: create(SystemEventSchema, {
          actorUserId: "user-0",
          event: { case: "membersAdded", value: create(MembersAddedSchema, { userIds: ["user-4", "user-5"] }) },
        }),
      },
    }),
  ];
}
