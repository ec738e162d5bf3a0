import type { NatsConnection } from "@nats-io/transport-node";
import type { Bus } from "./bus.js";

/**
 * The bus over core NATS: at-most-once, low latency. A subscription survives reconnects
 * (the client re-subscribes); what is published while a subscriber is away is not kept,
 * which is safe because clients resume from the store.
 */
export function createNatsBus(nc: NatsConnection): Bus {
  return {
    publish(subject, data) {
      nc.publish(subject, data);
    },
    subscribe(subject, handler) {
      const sub = nc.subscribe(subject, {
        callback: (err, msg) => {
          if (!err) handler(msg.data);
        },
      });
      return { unsubscribe: () => sub.unsubscribe() };
    },
    async close() {
      // The connection belongs to the caller.
    },
  };
}
