import { defaultHashQueueLimit, defaultHashThreads } from "@messenger/auth";
import { positiveInt, z } from "@messenger/config";
import { defaultMaxMutedConversations } from "./domain/notifications.js";
import { rateLimitEnv } from "@messenger/rpc";
import type { AccountsLimits } from "./app.js";

/**
 * The environment of the accounts service's abuse limits, read by the service alone and by
 * the one-process system; every variable is documented in the README's configuration.
 */
export const accountsLimitsEnv = {
  PASSWORD_HASH_CONCURRENCY: positiveInt(defaultHashThreads),
  PASSWORD_HASH_QUEUE_LIMIT: z.coerce.number().int().min(0).default(defaultHashQueueLimit),
  LOGIN_RATE_LIMIT_PER_USERNAME: rateLimitEnv("10/1m"),
  LOGIN_RATE_LIMIT_PER_ADDRESS: rateLimitEnv("30/1m"),
  REGISTER_RATE_LIMIT_PER_ADDRESS: rateLimitEnv("5/1h"),
  CONTACT_REQUEST_RATE_LIMIT: rateLimitEnv("30/1h"),
  MAX_MUTED_CONVERSATIONS: positiveInt(defaultMaxMutedConversations),
  // Here with the limits so that every process hosting accounts (the one-process system
  // too) reads it: it bounds which push endpoints are accepted.
  PUSH_ALLOW_INSECURE_ENDPOINTS: z.enum(["true", "false"]).default("false"),
};

/** The limits an environment parsed with accountsLimitsEnv sets. */
export function accountsLimits(config: z.infer<z.ZodObject<typeof accountsLimitsEnv>>): AccountsLimits {
  return {
    hashThreads: config.PASSWORD_HASH_CONCURRENCY,
    hashQueueLimit: config.PASSWORD_HASH_QUEUE_LIMIT,
    loginPerUsername: config.LOGIN_RATE_LIMIT_PER_USERNAME,
    loginPerAddress: config.LOGIN_RATE_LIMIT_PER_ADDRESS,
    registerPerAddress: config.REGISTER_RATE_LIMIT_PER_ADDRESS,
    contactRequests: config.CONTACT_REQUEST_RATE_LIMIT,
    maxMutedConversations: config.MAX_MUTED_CONVERSATIONS,
    allowInsecurePushEndpoints: config.PUSH_ALLOW_INSECURE_ENDPOINTS === "true",
  };
}
