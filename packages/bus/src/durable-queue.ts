import type { Subscription } from "./bus.js";

/** A delivery of a queued message to a consumer. */
export interface QueueDelivery {
  /**
   * Which delivery of this message this is: 1 the first time, n after n - 1 deliveries that
   * failed (a handler that threw, or a consumer that died before acknowledging). A consumer
   * sets a poison message aside after some number of attempts instead of failing forever.
   */
  readonly attempt: number;
}

/**
 * A consumer's handler: resolving acknowledges the message, throwing has it delivered again
 * later — after `afterMs` for a RedeliverLaterError, after the queue's retry delay otherwise.
 * Either way the queue goes on with other messages meanwhile.
 */
export type QueueHandler = (data: Uint8Array, subject: string, delivery: QueueDelivery) => Promise<void>;

/** Thrown by a handler to have its message delivered again no sooner than `afterMs` (a provider's Retry-After, a backoff). */
export class RedeliverLaterError extends Error {
  override readonly name: string = "RedeliverLaterError";
  constructor(
    message: string,
    readonly afterMs: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** How a consumer takes messages. */
export interface ConsumeOptions {
  /** Messages handled at once by this consumer (default 1: one after the other, in order while none fails). */
  readonly concurrency?: number;
}

/**
 * The queue did not store a message: its server is unreachable or did not confirm in time.
 * Nothing was acknowledged, so the caller publishes again later (with the same dedup id: a
 * message that was stored after all is then dropped as a repeat).
 */
export class QueueUnavailableError extends Error {
  override readonly name = "QueueUnavailableError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * The durable queue port, for work that must not be lost (offline notifications for the
 * push worker): publish resolves only once the queue has stored the message, and rejects
 * with QueueUnavailableError (never hangs) while it cannot; a consumer group receives each
 * message at least once, and a message whose handler throws is delivered again later.
 */
export interface DurableQueue {
  /**
   * Stores a message. A `dedupId` seen within the queue's dedup window (JetStream's
   * duplicate window, the memory queue's last ids) is accepted and dropped: a publish may be
   * repeated safely. Rejects with QueueUnavailableError when the message was not stored.
   */
  publish(subject: string, data: Uint8Array, dedupId?: string): Promise<void>;
  /** Consumers sharing a `group` split the messages between them; the group's position survives restarts. */
  consume(group: string, handler: QueueHandler, opts?: ConsumeOptions): Promise<Subscription>;
  close(): Promise<void>;
}

/** The delay before a failed message comes back. */
export function redeliveryDelay(err: unknown, retryMs: number): number {
  return err instanceof RedeliverLaterError ? Math.max(0, err.afterMs) : retryMs;
}

/**
 * The in-process queue of the one-process system: kept in memory until consumed (so not
 * durable across a restart of that process, which the embedded mode accepts). A message whose
 * handler throws leaves the line and comes back after its delay (`retryMs`, or the
 * RedeliverLaterError's), so it never holds up the others.
 */
export function createMemoryQueue(opts: { retryMs?: number; maxPending?: number; dedupWindow?: number } = {}): DurableQueue {
  const dedupWindow = opts.dedupWindow ?? 100_000;
  const retryMs = opts.retryMs ?? 1_000;
  type Item = { subject: string; data: Uint8Array; attempts: number };
  const pending: Item[] = [];
  const seen = new Set<string>();
  const handlers: { handler: QueueHandler; concurrency: number }[] = [];
  const waiting = new Set<NodeJS.Timeout>();
  let inFlight = 0;
  let next = 0;
  // Changes only with the consumers, not per message.
  let concurrency = 1;
  const consumersChanged = (): void => {
    concurrency = Math.max(1, ...handlers.map((h) => h.concurrency));
  };
  const pump = (): void => {
    while (pending.length > 0 && handlers.length > 0 && inFlight < concurrency) {
      const item = pending.shift()!;
      const { handler } = handlers[next++ % handlers.length]!;
      inFlight++;
      handler(item.data, item.subject, { attempt: ++item.attempts })
        .catch((err: unknown) => {
          const timer = setTimeout(() => {
            waiting.delete(timer);
            pending.push(item);
            pump();
          }, redeliveryDelay(err, retryMs));
          waiting.add(timer);
        })
        .finally(() => {
          inFlight--;
          pump();
        });
    }
  };
  return {
    async publish(subject, data, dedupId) {
      if (dedupId) {
        if (seen.has(dedupId)) return;
        seen.add(dedupId);
        // The oldest ids go first (a Set keeps insertion order): a resend comes soon after
        // the first publish, so the recent ones are what the window must keep.
        if (seen.size > dedupWindow) seen.delete(seen.values().next().value!);
      }
      // Without a consumer the oldest entries go first, so memory stays bounded.
      if (pending.length >= (opts.maxPending ?? 100_000)) pending.shift();
      pending.push({ subject, data, attempts: 0 });
      pump();
    },
    async consume(_group, handler, consumeOpts) {
      const entry = { handler, concurrency: consumeOpts?.concurrency ?? 1 };
      handlers.push(entry);
      consumersChanged();
      pump();
      return {
        unsubscribe() {
          const i = handlers.indexOf(entry);
          if (i >= 0) handlers.splice(i, 1);
          consumersChanged();
        },
      };
    },
    async close() {
      handlers.length = 0;
      consumersChanged();
      for (const t of waiting) clearTimeout(t);
      waiting.clear();
    },
  };
}
