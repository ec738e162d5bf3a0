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

/**
 * The due prefix of a disappearing conversation's oldest messages (ascending, sent_at following
 * seq): the last seq sent before `cutoff`, at most `budget` of them; `more` when the budget, not
 * the cutoff, ended it.
 */
export function duePrefix(rows: readonly { readonly seq: number; readonly sentAt: number }[], cutoff: number, budget: number): { through: number; more: boolean } {
  let through = 0;
  let n = 0;
  for (const r of rows) {
    if (r.sentAt >= cutoff) break;
    if (n === budget) return { through, more: true };
    through = r.seq;
    n++;
  }
  return { through, more: false };
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
    const live = await repo.deleteExpired(now, limit);
    const none = { deleted: 0, conversations: 0, more: true };
    const archived = live.more ? none : await expireArchived(repo, now, limit - live.deleted);
    const used = live.deleted + archived.deleted;
    const delivered = live.more || archived.more ? none : await deleteDeliveredMessages(repo, directory, { now, maxHoldMs, limit: limit - used });
    return {
      deleted: used + delivered.deleted,
      conversations: live.conversations + archived.conversations + delivered.conversations,
      more: live.more || archived.more || delivered.more,
      byMode: { disappearing: live.deleted + archived.deleted, store_and_forward: delivered.deleted },
    };
  };
}

/**
 * The disappearing messages the repository's own pass cannot see: the oldest remaining ones
 * of a conversation are archived (deleteExpired reads live rows only, and a live row not yet
 * due says nothing of older archived ones). Read through the archive (the repository given is
 * the one with archived reads), then deleted as a prefix; collectArchive then drops or
 * rewrites the segments below the new min_seq.
 */
async function expireArchived(repo: HistoryRepository, now: number, limit: number): Promise<ExpiredDeletion> {
  let deleted = 0;
  let conversations = 0;
  let more = false;
  let after = "";
  for (;;) {
    const page = await repo.archivedDisappearing(after, 100);
    for (const c of page) {
      if (deleted >= limit) return { deleted, conversations, more: true };
      const cutoff = now - c.retention.ttlSeconds * 1000;
      const from = Math.max(c.minSeq, 1);
      const asked = Math.min(limit - deleted, 1_000);
      const messages = await repo.listMessages(c.id, { afterSeq: from - 1, limit: asked, direction: "forward" });
      const due = messages.findIndex((m) => m.sentAt >= cutoff);
      const through = (due === -1 ? messages.at(-1) : messages[due - 1])?.seq ?? 0;
      if (through === 0) continue;
      // A full page, all of it due: more may be due behind it, so the loop goes on at once.
      if (due === -1 && messages.length === asked) more = true;
      deleted += await repo.deleteThrough(c.id, through, "disappearing");
      conversations++;
    }
    if (page.length < 100) return { deleted, conversations, more };
    after = page.at(-1)!.id;
  }
}

