import { offlineNotificationCodec, subjects, type DurableQueue } from "@messenger/bus";
import type { QueuePushCandidate } from "./domain/ports.js";

/**
 * Push candidates on the durable queue: subject `messenger.offline.<user>`, payload
 * OfflineNotification, dedup id `<message id>:<user id>`, so the inline path, the outbox
 * relay and a resend of the same message all make one queued candidate per message and user
 * (within the queue's dedup window). The push worker keys its own idempotency on the same pair.
 */
export function pushCandidateQueue(queue: DurableQueue): QueuePushCandidate {
  return (c) =>
    queue.publish(subjects.offlineNotifications(c.userId), offlineNotificationCodec.encode({ ...c, liveDeviceIds: [...c.liveDeviceIds], sentAtMs: BigInt(c.sentAtMs) }), `${c.messageId}:${c.userId}`);
}
