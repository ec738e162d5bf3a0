/**
 * What the worker takes off the queue: a message (or a read) that a user's devices may need
 * to hear of. The router names the user's devices that had a live session when it was
 * planned: those got it on their stream.
 */
export interface PushCandidate {
  readonly kind: "message" | "read";
  readonly userId: string;
  readonly conversationId: string;
  readonly messageId: string;
  readonly seq: bigint;
  readonly senderUserId: string;
  readonly liveDeviceIds: readonly string[];
  /** When the message was stored (epoch ms), for the queue → provider latency; 0 if unknown. */
  readonly storedAtMs: number;
}
