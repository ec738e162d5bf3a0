import { importPKCS8, SignJWT } from "jose";

/** APNs provider tokens for one signing key, shared by all sends. */
export interface ApnsProviderTokens {
  /** The current token, signed anew when it is older than the refresh interval. */
  get(): Promise<string>;
  /** APNs said this token expired: the next `get` signs a new one (unless one already replaced it). */
  expire(token: string): void;
  /** How many tokens were signed, for tests. */
  readonly signed: number;
}

/**
 * Token-based APNs authentication: an ES256 JWT with kid = the key id and claims iss = the team
 * id, iat. Apple refuses one older than an hour and throttles (TooManyProviderTokenUpdates) a
 * provider that makes a new one more often than every 20 minutes: one every 50 minutes.
 */
export function apnsProviderTokens(key: { pem: string; keyId: string; teamId: string }, options: { now: () => number; refreshMs?: number }): ApnsProviderTokens {
  const refreshMs = options.refreshMs ?? 50 * 60_000;
  const signingKey = importPKCS8(key.pem, "ES256");
  // A bad key surfaces on the first send; the provider must not crash the process before.
  signingKey.catch(() => {});
  let current: { token: string; issuedAt: number } | undefined;
  let pending: Promise<string> | undefined;
  let signed = 0;

  async function sign(): Promise<string> {
    const issuedAt = options.now();
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: "ES256", kid: key.keyId })
      .setIssuer(key.teamId)
      .setIssuedAt(Math.floor(issuedAt / 1000))
      .sign(await signingKey);
    signed++;
    current = { token, issuedAt };
    return token;
  }

  return {
    get signed() {
      return signed;
    },
    get(): Promise<string> {
      if (current && options.now() - current.issuedAt < refreshMs) return Promise.resolve(current.token);
      pending ??= sign().finally(() => {
        pending = undefined;
      });
      return pending;
    },
    expire(token: string): void {
      if (current?.token === token) current = undefined;
    },
  };
}
