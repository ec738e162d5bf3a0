import { jetstreamReplicas, natsUrl, serviceEnv, serviceUrl, z } from "@messenger/config";
import { providersEnv } from "./providers/providers-env.js";

/**
 * The environment the push service reads at boot, one key per variable (main.ts parses it with
 * parseEnv). tests/chart/chart.test.ts checks that what the Helm chart gives the pod satisfies it.
 */
export const pushEnv = z.object({
  ...serviceEnv,
  NATS_URL: natsUrl(),
  NATS_JETSTREAM_REPLICAS: jetstreamReplicas(),
  ACCOUNTS_URL: serviceUrl(),
  STORE_URL: serviceUrl(),
  JWKS_URL: serviceUrl(),
  /**
   * VAPID keys are generated here when no private key is given (VAPID_PRIVATE_KEY or
   * VAPID_PRIVATE_KEY_FILE, in providersEnv); replicas must share them (or the variables).
   */
  DATA_DIR: z.string().min(1).default("./data-push"),
  ...providersEnv,
});
