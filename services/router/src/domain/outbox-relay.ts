import type { Logger } from "@messenger/logging";
import { membersAt } from "./member-ranges.js";
import type { MembershipCache } from "./membership-cache.js";
import type { OutboxEntry, PushOutbox, SessionLookup } from "./ports.js";
import type { PushNotifier } from "./push-notifier.js";
import { pushRecipients } from "./push-policy.js";
import { SessionIndex } from "./session-index.js";

/** Relay settings. */
export interface OutboxRelaySettings {
  /** How often the relay looks for entries left behind. */
  readonly intervalMs: number;
  /**
   * Entries younger than this are left alone: the router that stored the message normally
   * queues its candidates and acknowledges the entry well within it.
   */
  readonly graceMs: number;
  /** How long a claimed entry is this relay's; it is claimed again after that if still there. */
  readonly leaseMs: number;
  /** Entries per claim. */
  readonly batchSize: number;
  /** Above this many members a group's candidates are coalesced (the delivery path's threshold). */
  readonly largeGroupThreshold: number;
}

/** What the relay reports, for metrics. */
export interface RelayEvents {
  /** Entries whose candidates the relay queued and acknowledged. */
  relayed(n: number): void;
  /** Age of the outbox's oldest entry at the last pass, in milliseconds (0: empty). */
  backlog(oldestAgeMs: number): void;
}

/**
 * Queues the push candidates of stored messages whose router did not: one that died before,
 * or whose queue (NATS) was down. Every few seconds it claims the store's outbox entries
 * older than a grace period (leased, so two routers do not relay the same entry at once),
 * recomputes their recipients and live devices the way delivery does, queues them through
 * the same notifier (which acknowledges each entry once its candidates were all queued), and
 * goes again at once while it finds full batches. A candidate that was queued before (the ack
 * was lost) carries the same dedup id, so the queue drops the repeat.
 */
export class OutboxRelay {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly deps: { outbox: PushOutbox; memberships: MembershipCache; sessions: SessionLookup; pushes: PushNotifier; log: Logger; events?: RelayEvents; now?: () => number },
    private readonly settings: OutboxRelaySettings,
  ) {}

  /** Starts the periodic passes. */
  start(): void {
    this.stopped = false;
    this.schedule(this.settings.intervalMs);
  }

  /** Stops the passes and waits for the one under way. */
  async close(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /**
   * One pass: claims up to a batch, relays it; resolves with how many entries were relayed
   * and how many were claimed. Rejects when the store could not be asked.
   */
  async runOnce(): Promise<{ claimed: number; relayed: number }> {
    const now = (this.deps.now ?? Date.now)();
    const { entries, oldestSentAtMs } = await this.deps.outbox.claim(now - this.settings.graceMs, this.settings.leaseMs, this.settings.batchSize);
    this.deps.events?.backlog(oldestSentAtMs > 0 ? Math.max(0, now - oldestSentAtMs) : 0);
    if (entries.length === 0) return { claimed: 0, relayed: 0 };
    const results = await this.relay(entries);
    const relayed = results.filter(Boolean).length;
    this.deps.events?.relayed(relayed);
    if (relayed < entries.length) this.deps.log.warn({ claimed: entries.length, relayed }, "outbox relay: some push candidates still not queued; retried after their lease");
    return { claimed: entries.length, relayed };
  }

  private async relay(entries: readonly OutboxEntry[]): Promise<boolean[]> {
    const conversations = [...new Set(entries.map((e) => e.conversationId))];
    // Read after the claim, so at or after each message's own membership version: the
    // ranges of its seq are final (see membersAt).
    const memberships = new Map(await Promise.all(conversations.map(async (c) => [c, await this.deps.memberships.current(c)] as const)));
    const targets = entries.map((e) => {
      const m = memberships.get(e.conversationId)!;
      return { entry: e, recipients: membersAt(m, Number(e.seq)), large: m.memberCount > this.settings.largeGroupThreshold };
    });
    const sessions = new SessionIndex(await this.deps.sessions.sessionsOf([...new Set(targets.flatMap((t) => t.recipients))]));
    return Promise.all(
      targets.map(({ entry, recipients, large }) => {
        const message = { conversationId: entry.conversationId, messageId: entry.messageId, seq: entry.seq, senderUserId: entry.senderUserId, sentAtMs: entry.sentAtMs };
        const candidates = pushRecipients(recipients, entry.senderUserId, sessions);
        return this.deps.pushes.offer(message, candidates, large);
      }),
    );
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.runOnce().then(
        (r) => this.schedule(r.claimed === this.settings.batchSize ? 0 : this.settings.intervalMs),
        (err: unknown) => {
          this.deps.log.warn({ err }, "outbox relay: the store's push outbox could not be read; trying again later");
          this.schedule(this.settings.intervalMs);
        },
      );
    }, delayMs);
  }
}
