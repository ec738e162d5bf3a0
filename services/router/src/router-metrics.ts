import { Counter, Gauge } from "prom-client";
import type { ServiceMetrics } from "@messenger/rpc";
import type { RelayEvents } from "./domain/outbox-relay.js";
import type { PushEvents } from "./domain/push-notifier.js";

/**
 * The router's push path: candidates put on the durable queue or refused by it, entries the
 * outbox relay had to queue (their router died, or NATS was down), and how old the oldest
 * entry still waiting is (it grows while NATS is down; it should stay below the relay's grace
 * plus an interval otherwise).
 */
export function pushMetrics(m: ServiceMetrics): { pushes: PushEvents; relay: RelayEvents } {
  const registers = [m.registry];
  const candidates = new Counter({
    name: "messenger_router_push_candidates_total",
    help: "Push candidates (OfflineNotification) offered to the durable queue, by result: queued, or failed (left to the outbox relay)",
    labelNames: ["result"],
    registers,
  });
  const relayed = new Counter({ name: "messenger_router_push_outbox_relayed_total", help: "Push outbox entries whose candidates the relay queued and acknowledged (the inline path had not)", registers });
  const oldest = new Gauge({ name: "messenger_router_push_outbox_oldest_age_seconds", help: "Age of the oldest push outbox entry at the relay's last pass (0: empty)", registers });
  return {
    pushes: {
      queued(n) {
        if (n > 0) candidates.inc({ result: "queued" }, n);
      },
      failed(n) {
        if (n > 0) candidates.inc({ result: "failed" }, n);
      },
    },
    relay: {
      relayed: (n) => relayed.inc(n),
      backlog: (ms) => oldest.set(ms / 1000),
    },
  };
}
