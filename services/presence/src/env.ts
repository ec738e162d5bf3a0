import { jetstreamReplicas, natsUrl, positiveInt, serviceEnv, serviceUrl, z } from "@messenger/config";

/**
 * The environment the presence service reads at boot, one key per variable (main.ts parses it with
 * parseEnv). tests/chart/chart.test.ts checks that what the Helm chart gives the pod satisfies it.
 */
export const presenceEnv = z.object({
  ...serviceEnv,
  NATS_URL: natsUrl(),
  NATS_JETSTREAM_REPLICAS: jetstreamReplicas(),
  /** Accounts' internal address: RelationsService decides who sees whose presence. */
  ACCOUNTS_URL: serviceUrl(),
  JWKS_URL: serviceUrl(),
  HEARTBEAT_INTERVAL_MS: positiveInt(15_000),
  /** Per-user presence announcement window: at most two announcements per window reach each watcher. */
  PRESENCE_ANNOUNCE_WINDOW_MS: z.coerce.number().int().min(0).default(1_000),
  /** Test hook: the session registry's watch applies changes this much later. */
  REGISTRY_MIRROR_DELAY_MS: z.coerce.number().int().min(0).default(0),
});
