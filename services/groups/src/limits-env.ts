import { rateLimitEnv } from "@messenger/rpc";

/**
 * The environment of the groups service's abuse limits, read by the service alone and by
 * the one-process system; documented in the README's configuration.
 */
export const groupsLimitsEnv = {
  GROUP_CREATE_RATE_LIMIT: rateLimitEnv("10/1h"),
};
