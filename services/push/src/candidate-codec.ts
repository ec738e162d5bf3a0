import { offlineNotificationCodec } from "@messenger/bus";
import type { PushCandidate } from "./domain/push-candidate.js";

/** The candidate an OfflineNotification on the queue carries; throws when it cannot be one. */
export function decodeCandidate(data: Uint8Array): PushCandidate {
  const n = offlineNotificationCodec.decode(data);
  if (!n.userId || !n.conversationId || !n.messageId) throw new Error("a push candidate needs user_id, conversation_id and message_id");
  return {
    kind: n.read ? "read" : "message",
    userId: n.userId,
    conversationId: n.conversationId,
    messageId: n.messageId,
    seq: n.seq,
    senderUserId: n.senderUserId,
    liveDeviceIds: n.liveDeviceIds,
    storedAtMs: Number(n.sentAtMs),
  };
}

/** The OfflineNotification of a candidate (what a dead letter keeps). */
export function encodeCandidate(c: PushCandidate): Uint8Array {
  return offlineNotificationCodec.encode({
    userId: c.userId,
    conversationId: c.conversationId,
    messageId: c.messageId,
    seq: c.seq,
    senderUserId: c.senderUserId,
    liveDeviceIds: [...c.liveDeviceIds],
    sentAtMs: BigInt(c.storedAtMs),
    read: c.kind === "read",
  });
}
