import { jetstreamReplicas, natsUrl, positiveInt, serviceEnv, serviceUrl, z } from "@messenger/config";

/**
 * The environment the router reads at boot, one key per variable (main.ts parses it with
 * parseEnv). tests/chart/chart.test.ts checks that what the Helm chart gives the pod satisfies it.
 */
export const routerEnv = z.object({
  ...serviceEnv,
  NATS_URL: natsUrl(),
  NATS_JETSTREAM_REPLICAS: jetstreamReplicas(),
  STORE_URL: serviceUrl(),
  MEDIA_URL: serviceUrl(),
  HEARTBEAT_INTERVAL_MS: positiveInt(15_000),
  LARGE_GROUP_THRESHOLD: positiveInt(256),
  LARGE_GROUP_WINDOW_MS: positiveInt(1_000),
  MAX_DELIVERY_BACKLOG: positiveInt(1_024),
  PUSH_OUTBOX_RELAY_INTERVAL_MS: positiveInt(3_000),
  PUSH_OUTBOX_GRACE_MS: positiveInt(5_000),
  PUSH_OUTBOX_LEASE_MS: positiveInt(15_000),
  /** Test hook: the session registry's watch applies changes this much later (see the bus README). */
  REGISTRY_MIRROR_DELAY_MS: z.coerce.number().int().min(0).default(0),
});
