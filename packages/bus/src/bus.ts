/** A subscription that can be cancelled. */
export interface Subscription {
  unsubscribe(): void;
}

/**
 * The pub/sub port: fire-and-forget delivery of bytes to whoever listens on a subject now.
 * Losing a message here never loses data: clients resume from cursors kept by the store.
 * A subscriber whose link to the bus was down may have missed messages while it was:
 * `onMissed` is called once the link is back, so it can catch up from the store.
 */
export interface Bus {
  publish(subject: string, data: Uint8Array): void;
  subscribe(subject: string, handler: (data: Uint8Array) => void, onMissed?: () => void): Subscription;
  close(): Promise<void>;
}

/**
 * The in-process bus of the one-process system. Handlers run on a later microtask, in
 * publish order, so a publisher never re-enters a subscriber's code synchronously. It never
 * loses a message, so `onMissed` is never called.
 */
export function createMemoryBus(): Bus {
  const handlers = new Map<string, Set<(data: Uint8Array) => void>>();
  return {
    publish(subject, data) {
      const set = handlers.get(subject);
      if (!set) return;
      for (const h of set) queueMicrotask(() => h(data));
    },
    subscribe(subject, handler) {
      let set = handlers.get(subject);
      if (!set) handlers.set(subject, (set = new Set()));
      set.add(handler);
      return {
        unsubscribe() {
          set.delete(handler);
          if (set.size === 0) handlers.delete(subject);
        },
      };
    },
    async close() {
      handlers.clear();
    },
  };
}
