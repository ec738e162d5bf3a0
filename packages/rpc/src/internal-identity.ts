import { Code, ConnectError } from "@connectrpc/connect";

/** Metadata keys that carry the caller on internal service-to-service calls. */
export const identityHeaders = {
  user: "x-messenger-user-id",
  device: "x-messenger-device-id",
  session: "x-messenger-session-id",
  gateway: "x-messenger-gateway-id",
} as const;

/** The user and device an internal call acts for. */
export interface CallerIdentity {
  readonly userId: string;
  readonly deviceId: string;
  readonly sessionId: string;
}

/** Headers for an internal call made on behalf of `who`. */
export function identityMetadata(who: Partial<CallerIdentity>): Record<string, string> {
  const h: Record<string, string> = {};
  if (who.userId) h[identityHeaders.user] = who.userId;
  if (who.deviceId) h[identityHeaders.device] = who.deviceId;
  if (who.sessionId) h[identityHeaders.session] = who.sessionId;
  return h;
}

/**
 * Reads the caller of an internal call. Internal services are never mounted on a public
 * port, so this metadata comes only from another service of ours.
 */
export function callerFromHeaders(headers: Headers): CallerIdentity {
  const userId = headers.get(identityHeaders.user);
  if (!userId) throw new ConnectError(`missing ${identityHeaders.user} metadata`, Code.Unauthenticated);
  return {
    userId,
    deviceId: headers.get(identityHeaders.device) ?? "",
    sessionId: headers.get(identityHeaders.session) ?? "",
  };
}
