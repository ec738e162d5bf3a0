import type { Logger } from "@messenger/logging";
import type { OutboxAcks } from "./outbox-acks.js";
import type { OutboxKey, QueuePushCandidate } from "./ports.js";
import type { PushRecipient } from "./push-policy.js";

/** The message a push candidate names. */
export interface NotifiedMessage {
  readonly conversationId: string;
  readonly messageId: string;
  readonly seq: bigint;
  readonly senderUserId: string;
  /** When it was stored (epoch ms). */
  readonly sentAtMs: number;
}

/** What the notifier reports, for metrics. */
export interface PushEvents {
  /** Candidates the queue stored, and those it refused (left to the outbox relay). */
  queued(n: number): void;
  failed(n: number): void;
}

interface PendingLarge {
  message: NotifiedMessage;
  /** Each member's live devices as the newest message covering them found them. */
  readonly recipients: Map<string, readonly string[]>;
  /** The outbox entries this flush covers: acknowledged once it was queued. */
  readonly keys: OutboxKey[];
  readonly done: ((queued: boolean) => void)[];
}

/**
 * Queues push candidates and acknowledges the stored messages' outbox entries once every
 * candidate of theirs was accepted by the queue (never before: a candidate the queue did not
 * take leaves the entry for the relay). In a large group the candidates are coalesced per
 * member over a window, one naming the newest message, and the flush acknowledges every
 * entry it covers; so a busy group costs one queue write per member per window.
 */
export class PushNotifier {
  private readonly pendingLarge = new Map<string, PendingLarge>();
  private largeTimer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    private readonly deps: { queue: QueuePushCandidate; acks: OutboxAcks; log: Logger; events?: PushEvents },
    private readonly settings: { readonly largeGroupWindowMs: number },
  ) {}

  /**
   * Queues one candidate per recipient; resolves true once all were queued and the message's
   * outbox entry acknowledged, false when something failed (the entry stays). Never rejects.
   */
  notify(message: NotifiedMessage, recipients: readonly PushRecipient[]): Promise<boolean> {
    return this.track(this.send(message, recipients.map((r) => [r.userId, r.liveDeviceIds] as const), [{ conversationId: message.conversationId, seq: message.seq }]));
  }

  /** notify, or coalesce for a large group. */
  offer(message: NotifiedMessage, recipients: readonly PushRecipient[], large: boolean): Promise<boolean> {
    return large ? this.coalesce(message, recipients) : this.notify(message, recipients);
  }

  /** Like notify, for a large group: held until the conversation's window ends, then sent with the newest message. */
  coalesce(message: NotifiedMessage, recipients: readonly PushRecipient[]): Promise<boolean> {
    let pending = this.pendingLarge.get(message.conversationId);
    if (!pending) this.pendingLarge.set(message.conversationId, (pending = { message, recipients: new Map(), keys: [], done: [] }));
    const newest = message.seq >= pending.message.seq;
    if (newest) pending.message = message;
    for (const r of recipients) if (newest || !pending.recipients.has(r.userId)) pending.recipients.set(r.userId, r.liveDeviceIds);
    pending.keys.push({ conversationId: message.conversationId, seq: message.seq });
    const done = new Promise<boolean>((resolve) => pending.done.push(resolve));
    this.largeTimer ??= setTimeout(() => {
      this.largeTimer = undefined;
      this.flushLarge();
    }, this.settings.largeGroupWindowMs);
    return done;
  }

  /** Sends what the large-group window holds and waits for every send and ack under way. */
  async close(): Promise<void> {
    clearTimeout(this.largeTimer);
    this.largeTimer = undefined;
    this.flushLarge();
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  private flushLarge(): void {
    const pending = [...this.pendingLarge.values()];
    this.pendingLarge.clear();
    for (const p of pending) {
      // The author of the newest message has read the conversation up to it.
      const recipients = [...p.recipients].filter(([userId]) => userId !== p.message.senderUserId);
      void this.track(this.send(p.message, recipients, p.keys)).then(
        (queued) => {
          for (const d of p.done) d(queued);
        },
        (err: unknown) => {
          // send reports its own failures; anything else still leaves the entries to the relay.
          this.deps.log.warn({ err, conversationId: p.message.conversationId }, "large group push candidates not queued; the outbox relay retries");
          for (const d of p.done) d(false);
        },
      );
    }
  }

  private async send(m: NotifiedMessage, recipients: readonly (readonly [string, readonly string[]])[], keys: readonly OutboxKey[]): Promise<boolean> {
    const results = await Promise.allSettled(
      recipients.map(async ([userId, liveDeviceIds]) =>
        this.deps.queue({ userId, conversationId: m.conversationId, messageId: m.messageId, seq: m.seq, senderUserId: m.senderUserId, liveDeviceIds, sentAtMs: m.sentAtMs }),
      ),
    );
    const failed = results.filter((r) => r.status === "rejected");
    this.deps.events?.queued(results.length - failed.length);
    if (failed.length > 0) {
      this.deps.events?.failed(failed.length);
      // The message is stored and will sync; its outbox entry stays, and the relay queues
      // its candidates again once NATS answers.
      this.deps.log.warn({ err: failed[0]!.reason, conversationId: m.conversationId, seq: m.seq, failed: failed.length }, "push candidates not queued; the outbox relay retries");
      return false;
    }
    try {
      await this.deps.acks.ack(keys);
      return true;
    } catch (err) {
      this.deps.log.warn({ err, entries: keys.length }, "push outbox entries not acknowledged; the relay queues them again (the queue drops the repeats)");
      return false;
    }
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    // Both ways: a finally() here would re-reject where nobody listens.
    const forget = (): void => void this.inFlight.delete(p);
    p.then(forget, forget);
    return p;
  }
}
