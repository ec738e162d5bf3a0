import type { Logger } from "@messenger/logging";
import type { QueuePushCandidate, SessionLookup } from "./ports.js";
import { SessionIndex } from "./session-index.js";

/** One device's read mark that moved its user's read watermark. */
export interface ReadMoved {
  readonly userId: string;
  readonly conversationId: string;
  readonly readSeq: bigint;
}

/**
 * Queues a read as a push candidate for its user, naming the devices that are live (the one
 * that read among them): the push worker sends the user's other devices a silent badge
 * update that clears the conversation's notification. Off the cursor path and best effort: a
 * lost one (NATS down) leaves a stale badge until the next push, nothing else.
 */
export function readPushes(deps: { sessions: SessionLookup; queue: QueuePushCandidate; log: Logger; now?: () => number }): (reads: readonly ReadMoved[]) => void {
  const now = deps.now ?? Date.now;
  return (reads) => {
    if (reads.length === 0) return;
    void (async () => {
      const sessions = new SessionIndex(await deps.sessions.sessionsOf([...new Set(reads.map((r) => r.userId))]));
      await Promise.all(
        reads.map((r) =>
          deps.queue({
            userId: r.userId,
            conversationId: r.conversationId,
            messageId: `read:${r.conversationId}:${r.readSeq}`,
            seq: r.readSeq,
            senderUserId: "",
            liveDeviceIds: sessions.liveDevices(r.userId),
            sentAtMs: now(),
            read: true,
          }),
        ),
      );
    })().catch((err: unknown) => deps.log.warn({ err }, "a read's badge update was not queued"));
  };
}
