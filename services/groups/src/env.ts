import { positiveInt, serviceEnv, serviceUrl, z } from "@messenger/config";
import { groupsLimitsEnv } from "./limits-env.js";

/**
 * The environment the groups service reads at boot, one key per variable (main.ts parses it with
 * parseEnv). tests/chart/chart.test.ts checks that what the Helm chart gives the pod satisfies it.
 */
export const groupsEnv = z.object({
  ...serviceEnv,
  STORE_URL: serviceUrl(),
  ROUTER_URL: serviceUrl(),
  ACCOUNTS_URL: serviceUrl(),
  JWKS_URL: serviceUrl(),
  MAX_GROUP_MEMBERS: positiveInt(1024),
  GROUP_EVENT_DELIVERY_TIMEOUT_MS: positiveInt(1_000),
  ...groupsLimitsEnv,
});
