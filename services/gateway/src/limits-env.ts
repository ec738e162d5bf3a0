import type { z } from "@messenger/config";
import { rateLimitEnv } from "@messenger/rpc";
import type { GatewaySettings } from "./gateway.js";

/**
 * The environment of the gateway's rate limits, read by the gateway service alone and by the
 * one-process system; every variable is documented in the README's configuration.
 * Sends over a limit are slowed (the gateway reads the client's next frame later), never
 * refused; a new stream over its limit is refused with RESOURCE_EXHAUSTED and a RetryInfo.
 */
export const gatewayLimitsEnv = {
  SEND_RATE_LIMIT_PER_DEVICE: rateLimitEnv("300/10s"),
  SEND_RATE_LIMIT_PER_USER: rateLimitEnv("600/10s"),
  NEW_SESSION_RATE_LIMIT_PER_USER: rateLimitEnv("30/1m"),
};

/** The gateway settings an environment parsed with gatewayLimitsEnv sets. */
export function gatewayLimits(
  config: z.infer<z.ZodObject<typeof gatewayLimitsEnv>>,
): Pick<GatewaySettings, "sendRateLimitPerDevice" | "sendRateLimitPerUser" | "newSessionRateLimitPerUser"> {
  return {
    sendRateLimitPerDevice: config.SEND_RATE_LIMIT_PER_DEVICE,
    sendRateLimitPerUser: config.SEND_RATE_LIMIT_PER_USER,
    newSessionRateLimitPerUser: config.NEW_SESSION_RATE_LIMIT_PER_USER,
  };
}
