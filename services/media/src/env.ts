import { serviceEnv, serviceUrl, z } from "@messenger/config";
import { mediaEnv } from "./media-env.js";

/**
 * The environment the media service reads at boot, one key per variable (main.ts parses it with
 * parseEnv). tests/chart/chart.test.ts checks that what the Helm chart gives the pod satisfies it.
 */
export const mediaServiceEnv = z.object({
  ...serviceEnv,
  STORE_URL: serviceUrl(),
  JWKS_URL: serviceUrl(),
  DATA_DIR: z.string().min(1).default("./data-media"),
  ...mediaEnv,
});
