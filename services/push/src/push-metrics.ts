import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { PushEvents } from "./domain/push-worker.js";

/** The push worker's metrics, on the service's registry, as the worker's events. */
export function pushMetrics(registry: Registry): PushEvents & { queueLag(ms: number): void } {
  const registers = [registry];
  const sent = new Counter({ name: "messenger_push_sent_total", help: "Notifications a provider accepted, by provider and visible or silent", labelNames: ["provider", "visibility"], registers });
  const failed = new Counter({ name: "messenger_push_failed_total", help: "Notifications not sent, by provider and reason (rejected_<status>, provider_not_configured)", labelNames: ["provider", "reason"], registers });
  const retries = new Counter({ name: "messenger_push_retries_total", help: "Sends answered 'later' (429, 5xx, network) and tried again, by provider and status", labelNames: ["provider", "status"], registers });
  const skipped = new Counter({
    name: "messenger_push_skipped_total",
    help: "Devices not pushed, by reason: live (had a session), delivered (already had the message), already_sent (another delivery or replica sent it), no_registration",
    labelNames: ["reason"],
    registers,
  });
  const removed = new Counter({ name: "messenger_push_registrations_removed_total", help: "Registrations deleted because the provider said the device is gone (404/410)", labelNames: ["provider"], registers });
  const dead = new Counter({ name: "messenger_push_dead_letters_total", help: "Queue messages dead-lettered (undecodable, or not sent after the delivery limit)", labelNames: ["reason"], registers });
  const latency = new Histogram({
    name: "messenger_push_queue_to_provider_seconds",
    help: "From the message being stored to the provider accepting its notification",
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
    registers,
  });
  const lag = new Gauge({ name: "messenger_push_queue_lag_seconds", help: "Age of the last candidate taken off the queue when it was taken", registers });
  return {
    sent(provider, visible, ms) {
      sent.inc({ provider, visibility: visible ? "visible" : "silent" });
      if (ms !== undefined) latency.observe(ms / 1000);
    },
    failed: (provider, reason) => failed.inc({ provider, reason }),
    retried: (provider, status) => retries.inc({ provider, status: String(status) }),
    skipped: (reason) => skipped.inc({ reason }),
    registrationRemoved: (provider) => removed.inc({ provider }),
    deadLettered: (reason) => dead.inc({ reason }),
    queueLag: (ms) => lag.set(ms / 1000),
  };
}
