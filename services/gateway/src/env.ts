import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { natsUrl, positiveInt, serviceEnv, serviceUrl, z } from "@messenger/config";
import { gatewayLimitsEnv } from "./limits-env.js";

/**
 * The environment the gateway reads at boot, one key per variable (main.ts parses it with
 * parseEnv). tests/chart/chart.test.ts checks that what the Helm chart gives the pod satisfies it.
 */
export const gatewayEnv = z.object({
  ...serviceEnv,
  GATEWAY_ID: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/)
    .default(`gw-${hostname().replace(/[^A-Za-z0-9_-]/g, "-").slice(0, 40)}-${randomBytes(3).toString("hex")}`),
  NATS_URL: natsUrl(),
  ROUTER_URL: serviceUrl(),
  STORE_URL: serviceUrl(),
  PRESENCE_URL: serviceUrl(),
  ACCOUNTS_URL: serviceUrl(),
  GROUPS_URL: serviceUrl(),
  MEDIA_URL: serviceUrl(),
  PUSH_URL: serviceUrl(),
  JWKS_URL: serviceUrl(),
  HEARTBEAT_INTERVAL_MS: positiveInt(15_000),
  HELLO_TIMEOUT_MS: positiveInt(10_000),
  OUTBOUND_QUEUE_LIMIT: positiveInt(1024),
  MAX_REPLAY_PER_CONVERSATION: positiveInt(1000),
  DRAIN_WAVES: positiveInt(5),
  GAP_FILL_DELAY_MS: z.coerce.number().int().min(0).default(200),
  CONVERSATION_UPDATE_WINDOW_MS: z.coerce.number().int().min(0).default(250),
  ...gatewayLimitsEnv,
});
