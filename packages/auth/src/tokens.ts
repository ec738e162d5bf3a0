import { Code, ConnectError } from "@connectrpc/connect";
import {
  SignJWT,
  createLocalJWKSet,
  createRemoteJWKSet,
  errors as joseErrors,
  importJWK,
  jwtVerify,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
} from "jose";
import { loadOrCreateSigningKeys, readSigningKeys, signingAlgorithm } from "./signing-keys.js";

const algorithm = signingAlgorithm;
/** The `iss` and `aud` our tokens carry unless configured otherwise. */
export const defaultIssuer = "messenger";
export const defaultAudience = "messenger";

/** Who a verified access token speaks for. */
export interface AccessClaims {
  readonly userId: string;
  readonly deviceId: string;
}

/** An issued access token. */
export interface IssuedToken {
  readonly token: string;
  readonly expiresAt: Date;
}

/** Signs short-lived per-device access tokens (Ed25519 JWTs); publishes its JWKS. */
export interface TokenIssuer {
  issue(claims: AccessClaims): Promise<IssuedToken>;
  jwks(): JSONWebKeySet;
}

/**
 * Signs with the first key of a signing key set and publishes every key of it (see
 * SigningKeySet): `keySetPath`, a set an operator manages (a Secret shared by every replica,
 * rotated with `npm run token-keys`), or else `keyPath`, a set this process makes on first
 * start so tokens stay valid across restarts.
 */
export async function createTokenIssuer(opts: { keyPath: string; keySetPath?: string | undefined; ttlSeconds: number; issuer?: string; audience?: string }): Promise<TokenIssuer> {
  const set = opts.keySetPath ? readSigningKeys(opts.keySetPath) : await loadOrCreateSigningKeys(opts.keyPath);
  const current = set.keys[0]!;
  const key = await importJWK(current, algorithm);
  const kid = current.kid!;
  const published = set.keys.map(({ d: _secret, ...publicJwk }) => ({ ...publicJwk, alg: algorithm, use: "sig" }));
  const iss = opts.issuer ?? defaultIssuer;
  const aud = opts.audience ?? defaultAudience;
  return {
    async issue(claims) {
      const expiresAt = new Date(Date.now() + opts.ttlSeconds * 1000);
      const token = await new SignJWT({ did: claims.deviceId })
        .setProtectedHeader({ alg: algorithm, kid })
        .setSubject(claims.userId)
        .setIssuer(iss)
        .setAudience(aud)
        .setIssuedAt()
        .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
        .sign(key);
      return { token, expiresAt };
    },
    jwks: () => ({ keys: published }),
  };
}

/** Checks access tokens; every edge holds one. */
export interface TokenVerifier {
  /** Returns the claims, or throws UNAUTHENTICATED saying why. */
  verify(token: string): Promise<AccessClaims>;
}

/**
 * A verifier over a key set: the issuer's own JWKS in one process, or a remote JWKS URL
 * (ours, or an operator's identity provider).
 */
export function createTokenVerifier(opts: { jwks: JSONWebKeySet } | { jwksUrl: string }, claims: { issuer?: string; audience?: string } = {}): TokenVerifier {
  const keys: JWTVerifyGetKey = "jwks" in opts ? createLocalJWKSet(opts.jwks) : createRemoteJWKSet(new URL(opts.jwksUrl));
  const issuer = claims.issuer ?? defaultIssuer;
  const audience = claims.audience ?? defaultAudience;
  return {
    async verify(token) {
      if (!token) throw new ConnectError("missing access token", Code.Unauthenticated);
      try {
        const { payload } = await jwtVerify(token, keys, { issuer, audience, algorithms: [algorithm, "RS256", "ES256"] });
        const deviceId = typeof payload.did === "string" ? payload.did : "";
        if (!payload.sub || !deviceId) throw new ConnectError("access token lacks sub or did", Code.Unauthenticated);
        return { userId: payload.sub, deviceId };
      } catch (err) {
        if (err instanceof ConnectError) throw err;
        if (err instanceof joseErrors.JWTExpired) throw new ConnectError("access token expired", Code.Unauthenticated);
        throw new ConnectError("invalid access token", Code.Unauthenticated);
      }
    },
  };
}

/** Reads the bearer token of an `authorization` header, or "". */
export function bearerToken(headers: Headers): string {
  const value = headers.get("authorization") ?? "";
  return value.toLowerCase().startsWith("bearer ") ? value.slice(7).trim() : "";
}

/** Verifies the bearer token of a public call. */
export function authenticate(verifier: TokenVerifier, headers: Headers): Promise<AccessClaims> {
  return verifier.verify(bearerToken(headers));
}
