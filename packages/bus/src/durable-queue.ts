import type { Subscription } from "./bus.js";

/**
 * The durable queue port, for work that must not be lost (offline notifications for the
 * push worker): publish resolves only once the queue has stored the message; a consumer
 * group receives each message at least once, and a message whose handler throws is
 * delivered again later.
 */
export interface DurableQueue {
  publish(subject: string, data: Uint8Array, dedupId?: string): Promise<void>;
  /** Consumers sharing a `group` split the messages between them; the group's position survives restarts. */
  consume(group: string, handler: (data: Uint8Array, subject: string) => Promise<void>): Promise<Subscription>;
  close(): Promise<void>;
}

/**
 * The in-process queue of the one-process system: kept in memory until consumed (so not
 * durable across a restart of that process, which the embedded mode accepts), redelivered
 * after `retryMs` when a handler throws.
 */
export function createMemoryQueue(opts: { retryMs?: number; maxPending?: number; dedupWindow?: number } = {}): DurableQueue {
  const dedupWindow = opts.dedupWindow ?? 100_000;
  const pending: { subject: string; data: Uint8Array }[] = [];
  const seen = new Set<string>();
  const handlers: ((data: Uint8Array, subject: string) => Promise<void>)[] = [];
  let pumping = false;
  let next = 0;
  const pump = async (): Promise<void> => {
    if (pumping) return;
    pumping = true;
    try {
      while (pending.length > 0 && handlers.length > 0) {
        const item = pending[0]!;
        const handler = handlers[next++ % handlers.length]!;
        try {
          await handler(item.data, item.subject);
          pending.shift();
        } catch {
          await new Promise((r) => setTimeout(r, opts.retryMs ?? 1_000));
        }
      }
    } finally {
      pumping = false;
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
      pending.push({ subject, data });
      void pump();
    },
    async consume(_group, handler) {
      handlers.push(handler);
      void pump();
      return {
        unsubscribe() {
          const i = handlers.indexOf(handler);
          if (i >= 0) handlers.splice(i, 1);
        },
      };
    },
    async close() {
      handlers.length = 0;
    },
  };
}
