import { create } from "@bufbuild/protobuf";
import { RetentionMode as ProtoRetentionMode, SystemEventSchema, type SystemEvent } from "@messenger/proto/chat/v1/types";
import type { ExpiredDeletion, GroupChangeOutcome, HistoryRepository, RetentionChangeInput, RetentionMode } from "../storage/history-repository.js";
import { invalidArgument } from "./errors.js";

/** The TTLs a disappearing conversation may have: 5 minutes to 90 days. */
export const retentionTtlBounds = { minSeconds: 5 * 60, maxSeconds: 90 * 24 * 3600 } as const;

/** The modes as the API names them. */
export const protoRetentionModes: Readonly<Record<RetentionMode, ProtoRetentionMode>> = {
  permanent: ProtoRetentionMode.PERMANENT,
  store_and_forward: ProtoRetentionMode.STORE_AND_FORWARD,
  disappearing: ProtoRetentionMode.DISAPPEARING,
};

/**
 * A retention a client may set: permanent, or disappearing with a TTL in bounds.
 * Store-and-forward is refused until its deletion exists: the server does not claim a
 * policy it does not carry out.
 */
export function checkRetention(r: { mode: RetentionMode; ttlSeconds: number }): { mode: RetentionMode; ttlSeconds: number } {
  if (r.mode === "permanent") return { mode: "permanent", ttlSeconds: 0 };
  if (r.mode === "disappearing") {
    const { minSeconds, maxSeconds } = retentionTtlBounds;
    if (!Number.isInteger(r.ttlSeconds) || r.ttlSeconds < minSeconds || r.ttlSeconds > maxSeconds) {
      throw invalidArgument(`a disappearing conversation's ttl_seconds must be ${minSeconds} to ${maxSeconds}`);
    }
    return r;
  }
  throw invalidArgument("store-and-forward retention is not available yet");
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

/** What the retention sweeper reports after each pass. */
export interface RetentionSweepEvents {
  swept(deletion: ExpiredDeletion): void;
}

/**
 * Deletes what retention says is gone, `batch` messages per pass, passes `intervalMs` apart
 * (and at once again while a pass was cut short by its batch). One pass at a time.
 */
export function startRetentionSweeper(
  repo: HistoryRepository,
  opts: { intervalMs: number; batch: number; now: () => number; events?: RetentionSweepEvents; onError: (err: unknown) => void },
): { runOnce(at?: number): Promise<ExpiredDeletion>; stop(): Promise<void> } {
  let running: Promise<unknown> | undefined;
  let stopped = false;
  const runOnce = async (at?: number): Promise<ExpiredDeletion> => {
    const d = await repo.deleteExpired(at ?? opts.now(), opts.batch);
    opts.events?.swept(d);
    return d;
  };
  const pass = (): void => {
    if (running || stopped) return;
    running = (async () => {
      for (let d = await runOnce(); d.more && !stopped; d = await runOnce()) {
        // Another batch at once: the limit cut this one short.
      }
    })()
      .catch(opts.onError)
      .finally(() => (running = undefined));
  };
  const timer = opts.intervalMs > 0 ? setInterval(pass, opts.intervalMs) : undefined;
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
