import { positiveInt, serviceEnv, serviceUrl, z } from "@messenger/config";
import { accountsStorageEnv } from "./accounts-storage-env.js";
import { accountsLimitsEnv } from "./limits-env.js";

/**
 * The environment the accounts reads at boot, one key per variable (main.ts parses it with
 * parseEnv). tests/chart/chart.test.ts checks that what the Helm chart gives the pod satisfies it.
 */
export const accountsEnv = z.object({
  ...serviceEnv,
  DATA_DIR: z.string().min(1).default("./data/accounts"),
  ACCESS_TOKEN_TTL_SECONDS: positiveInt(900),
  /** A signing key set every replica shares (a mounted Secret; `npm run token-keys -- add FILE`, then `promote FILE`); unset: one made in DATA_DIR. */
  TOKEN_SIGNING_KEYS_FILE: z.string().min(1).optional(),
  REFRESH_TOKEN_TTL_SECONDS: positiveInt(30 * 24 * 3600),
  SCRYPT_LOG_N: z.coerce.number().int().min(10).max(20).default(17),
  STORE_URL: serviceUrl(),
  PRESENCE_URL: serviceUrl(),
  MAX_CONTACTS: positiveInt(5000),
  MAX_PENDING_CONTACT_REQUESTS: positiveInt(1000),
  STORE_RETRY_INTERVAL_MS: positiveInt(1000),
  STORE_RETRY_MAX_INTERVAL_MS: positiveInt(30_000),
  ...accountsLimitsEnv,
  ...accountsStorageEnv,
});
