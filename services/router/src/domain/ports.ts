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

/** Queues a content-free notification for a user with no live session (idempotent per key). */
export type NotifyOffline = (n: { userId: string; conversationId: string; messageId: string; seq: bigint; senderUserId: string }) => Promise<void>;
