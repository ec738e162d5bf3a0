import { accountsLimitsEnv } from "@messenger/accounts";
import { parseEnv, port, positiveInt, z } from "@messenger/config";
import { gatewayLimitsEnv } from "@messenger/gateway";
import { groupsLimitsEnv } from "@messenger/groups";
import { mediaEnv } from "@messenger/media";
import { providersEnv } from "@messenger/push";
import { archiveEnv, historyEnv, retentionSweepEnv } from "@messenger/store";

/** The environment of the one-process system; every variable is listed in the README. */
export const standaloneEnv = z.object({
  HOST: z.string().min(1).default("127.0.0.1"),
  GRPC_PORT: port(50051),
  HTTP_PORT: port(8080),
  DATA_DIR: z.string().min(1).default("./data"),
  GATEWAY_ID: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).default("gw-1"),
  ACCESS_TOKEN_TTL_SECONDS: positiveInt(900),
  TOKEN_SIGNING_KEYS_FILE: z.string().min(1).optional(),
  REFRESH_TOKEN_TTL_SECONDS: positiveInt(30 * 24 * 3600),
  SCRYPT_LOG_N: z.coerce.number().int().min(10).max(20).default(17),
  HEARTBEAT_INTERVAL_MS: positiveInt(15_000),
  HELLO_TIMEOUT_MS: positiveInt(10_000),
  OUTBOUND_QUEUE_LIMIT: positiveInt(1024),
  MAX_FRAME_BYTES: positiveInt(256 * 1024),
  MAX_REPLAY_PER_CONVERSATION: positiveInt(1000),
  SHUTDOWN_GRACE_MS: positiveInt(5_000),
  MAX_GROUP_MEMBERS: positiveInt(1024),
  LARGE_GROUP_THRESHOLD: positiveInt(256),
  LARGE_GROUP_WINDOW_MS: positiveInt(1_000),
  GAP_FILL_DELAY_MS: z.coerce.number().int().min(0).default(200),
  CONVERSATION_UPDATE_WINDOW_MS: z.coerce.number().int().min(0).default(250),
  PRESENCE_ANNOUNCE_WINDOW_MS: z.coerce.number().int().min(0).default(1_000),
  MAX_CONTACTS: positiveInt(5000),
  MAX_PENDING_CONTACT_REQUESTS: positiveInt(1000),
  ...retentionSweepEnv,
  ...archiveEnv,
  ...historyEnv,
  ...accountsLimitsEnv,
  ...groupsLimitsEnv,
  ...gatewayLimitsEnv,
  ...mediaEnv,
  ...providersEnv,
});

export type StandaloneConfig = z.infer<typeof standaloneEnv>;

/** Reads and validates the environment; throws ConfigError listing every problem. */
export function loadStandaloneConfig(env: Record<string, string | undefined> = process.env): StandaloneConfig {
  return parseEnv(standaloneEnv, env);
}
