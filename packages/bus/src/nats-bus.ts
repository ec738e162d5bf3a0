import type { NatsConnection } from "@nats-io/transport-node";
import type { Bus } from "./bus.js";

/**
 * The bus over core NATS: at-most-once, low latency. A subscription survives reconnects
 * (the client re-subscribes); what was published while a subscriber was away is not kept,
 * so each subscriber's `onMissed` runs after every reconnect of this connection.
 */
export function createNatsBus(nc: NatsConnection, onError: (err: unknown) => void = () => undefined): Bus {
  const missed = new Set<() => void>();
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === "reconnect") for (const m of missed) m();
    }
  })().catch(onError);
  return {
    publish(subject, data) {
      nc.publish(subject, data);
    },
    subscribe(subject, handler, onMissed) {
      const sub = nc.subscribe(subject, {
        callback: (err, msg) => {
          if (!err) handler(msg.data);
        },
      });
      if (onMissed) missed.add(onMissed);
      return {
        unsubscribe: () => {
          if (onMissed) missed.delete(onMissed);
          sub.unsubscribe();
        },
      };
    },
    async close() {
      // The connection belongs to the caller.
      missed.clear();
    },
  };
}
