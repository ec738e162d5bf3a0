import type { MessageInitShape } from "@bufbuild/protobuf";
import type { SessionRecord } from "@messenger/bus";
import type { SessionResponseSchema } from "@messenger/proto/gateway/v1/gateway_service";

/** A frame for client sessions. */
export type Frame = MessageInitShape<typeof SessionResponseSchema>;

/** Where live sessions are (the session registry), read consistently (see SessionRegistry.sessionsOf). */
export interface SessionLookup {
  sessionsOf(userIds: readonly string[]): Promise<SessionRecord[]>;
}

/** Pushes a frame to the listed users' sessions on one gateway: one publish per gateway. */
export type PublishToGateway = (gatewayId: string, userIds: readonly string[], frame: Frame, excludeSessionId: string) => void;

/**
 * A push candidate (the bus's OfflineNotification): a recipient of a new message, with the
 * devices of theirs that had a live session when it was routed. The push worker decides
 * per device; no message content.
 */
export interface PushCandidate {
  readonly userId: string;
  readonly conversationId: string;
  readonly messageId: string;
  readonly seq: bigint;
  readonly senderUserId: string;
  readonly liveDeviceIds: readonly string[];
  /** When the message was stored (epoch ms). */
  readonly sentAtMs: number;
  /** A read on one of the user's devices, not a message (see OfflineNotification.read). */
  readonly read?: boolean;
}

/**
 * Puts a push candidate on the durable queue; resolves once the queue stored it, rejects when
 * it did not. Idempotent per message and user (the queue drops a repeat within its window).
 */
export type QueuePushCandidate = (c: PushCandidate) => Promise<void>;

/** A stored message's push outbox entry, by its key. */
export interface OutboxKey {
  readonly conversationId: string;
  readonly seq: bigint;
}

/** An outbox entry left behind: its message's notifications may never have been queued. */
export interface OutboxEntry extends OutboxKey {
  readonly messageId: string;
  readonly senderUserId: string;
  readonly sentAtMs: number;
}

/** The store's push outbox (StoreService.ClaimPushOutbox and AckPushOutbox). */
export interface PushOutbox {
  /** Leases entries stored before `olderThanMs` and not leased, oldest first; with the oldest entry's time (0: empty). */
  claim(olderThanMs: number, leaseMs: number, limit: number): Promise<{ entries: OutboxEntry[]; oldestSentAtMs: number }>;
  /** Deletes entries whose notifications were all queued. */
  ack(keys: readonly OutboxKey[]): Promise<void>;
}
