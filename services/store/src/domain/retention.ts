import { create } from "@bufbuild/protobuf";
import { RetentionMode as ProtoRetentionMode, SystemEventSchema, type SystemEvent } from "@messenger/proto/chat/v1/types";
import type { ExpiredDeletion, GroupChangeOutcome, HistoryRepository, RetentionChangeInput, RetentionMode } from "../storage/history-repository.js";
import { invalidArgument } from "./errors.js";
import { deleteDeliveredMessages, type DeviceDirectory } from "./store-and-forward.js";

/** The TTLs a disappearing conversation may have: 5 minutes to 90 days. */
export const retentionTtlBounds = { minSeconds: 5 * 60, maxSeconds: 90 * 24 * 3600 } as const;

/** The modes as the API names them. */
export const protoRetentionModes: Readonly<Record<RetentionMode, ProtoRetentionMode>> = {
  permanent: ProtoRetentionMode.PERMANENT,
  store_and_forward: ProtoRetentionMode.STORE_AND_FORWARD,
  disappearing: ProtoRetentionMode.DISAPPEARING,
};

/** A retention a client may set: permanent, store-and-forward, or disappearing with a TTL in bounds. */
export function checkRetention(r: { mode: RetentionMode; ttlSeconds: number }): { mode: RetentionMode; ttlSeconds: number } {
  if (r.mode === "permanent") return { mode: "permanent", ttlSeconds: 0 };
  if (r.mode === "store_and_forward") return { mode: "store_and_forward", ttlSeconds: 0 };
  if (r.mode === "disappearing") {
    const { minSeconds, maxSeconds } = retentionTtlBounds;
    if (!Number.isInteger(r.ttlSeconds) || r.ttlSeconds < minSeconds || r.ttlSeconds > maxSeconds) {
      throw invalidArgument(`a disappearing conversation's ttl_seconds must be ${minSeconds} to ${maxSeconds}`);
    }
    return r;
  }
  throw invalidArgument(`unknown retention mode ${String(r.mode)}`);
}

/** The system message of a retention change. */
export function retentionChangedEvent(actorUserId: string, r: { mode: RetentionMode; ttlSeconds: number }): SystemEvent {
  return create(SystemEventSchema, {
    actorUserId,
    event: { case: "retentionChanged", value: { retention: { mode: protoRetentionModes[r.mode], ttlSeconds: r.ttlSeconds } } },
  });
}

/** Changes a conversation's retention after checking the policy (see HistoryRepository.setRetention). */
export async function setConversationRetention(repo: HistoryRepository, input: RetentionChangeInput): Promise<GroupChangeOutcome> {
  if (!input.conversationId || !input.actorUserId) throw invalidArgument("conversation_id and the acting user are required");
  return repo.setRetention({ ...input, retention: checkRetention(input.retention) });
}

/** What one retention pass deleted, in all and by mode. */
export interface RetentionPass extends ExpiredDeletion {
  readonly byMode: { readonly disappearing: number; readonly store_and_forward: number };
}

/** What the retention sweeper reports after each pass. */
export interface RetentionSweepEvents {
  swept(pass: RetentionPass): void;
}

/**
 * One pass over both modes that delete, `limit` messages in all: disappearing messages past
 * their TTL first (the repository finds them), then what store-and-forward conversations no
 * longer owe any device (see deleteDeliveredMessages).
 */
export function retentionPass(
  repo: HistoryRepository,
  directory: DeviceDirectory,
  maxHoldMs: number,
): (now: number, limit: number) => Promise<RetentionPass> {
  return async (now, limit) => {
    const expired = await repo.deleteExpired(now, limit);
    const delivered = expired.more
      ? { deleted: 0, conversations: 0, more: true }
      : await deleteDeliveredMessages(repo, directory, { now, maxHoldMs, limit: limit - expired.deleted });
    return {
      deleted: expired.deleted + delivered.deleted,
      conversations: expired.conversations + delivered.conversations,
      more: expired.more || delivered.more,
      byMode: { disappearing: expired.deleted, store_and_forward: delivered.deleted },
    };
  };
}

/**
 * Runs `pass` with `batch` messages per pass, passes `intervalMs` apart (and at once again
 * while a pass was cut short by its batch). One pass at a time.
 */
export function startRetentionSweeper(
  pass: (now: number, limit: number) => Promise<RetentionPass>,
  opts: { intervalMs: number; batch: number; now: () => number; events?: RetentionSweepEvents; onError: (err: unknown) => void },
): { runOnce(at?: number): Promise<RetentionPass>; stop(): Promise<void> } {
  let running: Promise<unknown> | undefined;
  let stopped = false;
  const runOnce = async (at?: number): Promise<RetentionPass> => {
    const d = await pass(at ?? opts.now(), opts.batch);
    opts.events?.swept(d);
    return d;
  };
  const tick = (): void => {
    if (running || stopped) return;
    running = (async () => {
      for (let d = await runOnce(); d.more && !stopped; d = await runOnce()) {
        // Another batch at once: the limit cut this one short.
      }
    })()
      .catch(opts.onError)
      .finally(() => (running = undefined));
  };
  const timer = opts.intervalMs > 0 ? setInterval(tick, opts.intervalMs) : undefined;
  timer?.unref();
  return {
    runOnce,
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      await running;
    },
  };
}
