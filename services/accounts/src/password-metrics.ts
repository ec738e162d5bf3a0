import type { ScryptPoolObserver } from "@messenger/auth";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** The password-hashing pool's metrics on a service registry, fed by the pool. */
export function passwordHashMetrics(registry: Registry): ScryptPoolObserver {
  const queued = new Gauge({ name: "messenger_password_hash_queue_depth", help: "Password hashes waiting for a hashing thread", registers: [registry] });
  const running = new Gauge({ name: "messenger_password_hash_in_progress", help: "Password hashes being computed", registers: [registry] });
  const refused = new Counter({
    name: "messenger_password_hash_refused_total",
    help: "Logins and registrations refused (RESOURCE_EXHAUSTED) because the hashing queue was full",
    registers: [registry],
  });
  const duration = new Histogram({
    name: "messenger_password_hash_duration_seconds",
    help: "Time a password hash took on its hashing thread",
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  return {
    onDepth(waiting, inProgress) {
      queued.set(waiting);
      running.set(inProgress);
    },
    onRefused: () => refused.inc(),
    onDone: (seconds) => duration.observe(seconds),
  };
}
