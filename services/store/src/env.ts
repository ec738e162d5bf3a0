import { serviceEnv, serviceUrl, z } from "@messenger/config";
import { retentionSweepEnv } from "./app.js";
import { archiveEnv } from "./archive-env.js";
import { limits } from "./domain/limits.js";
import { historyEnv } from "./history-env.js";

/**
 * The environment the store reads at boot, one key per variable (main.ts parses it with
 * parseEnv). tests/chart/chart.test.ts checks that what the Helm chart gives the pod satisfies it.
 */
export const storeEnv = z.object({
  ...serviceEnv,
  DATA_DIR: z.string().min(1).default("./data/store"),
  JWKS_URL: serviceUrl(),
  ACCOUNTS_URL: serviceUrl(),
  LARGE_GROUP_THRESHOLD: z.coerce.number().int().min(1).default(limits.defaultLargeGroupThreshold),
  ...retentionSweepEnv,
  ...archiveEnv,
  ...historyEnv,
});
