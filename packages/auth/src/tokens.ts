import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  SignJWT,
  createLocalJWKSet,
  createRemoteJWKSet,
  errors as joseErrors,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
  type JSONWebKeySet,
  type JWK,
  type JWTVerifyGetKey,
} from "jose";

const algorithm = "EdDSA";
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
 * Loads the signing key from `path` (a private JWK), creating it on first start so tokens
 * stay valid across restarts.
 */
export async function createTokenIssuer(opts: { keyPath: string; ttlSeconds: number; issuer?: string; audience?: string }): Promise<TokenIssuer> {
  let privateJwk: JWK;
  if (existsSync(opts.keyPath)) {
    privateJwk = JSON.parse(readFileSync(opts.keyPath, "utf8")) as JWK;
  } else {
    const { privateKey } = await generateKeyPair(algorithm, { extractable: true, crv: "Ed25519" });
    privateJwk = { ...(await exportJWK(privateKey)), kid: randomUUID(), alg: algorithm };
    mkdirSync(dirname(opts.keyPath), { recursive: true });
    writeFileSync(opts.keyPath, JSON.stringify(privateJwk), { mode: 0o600 });
  }
  const key = await importJWK(privateJwk, algorithm);
  const { d: _secret, ...publicJwk } = privateJwk;
  const kid = privateJwk.kid ?? "default";
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
    jwks: () => ({ keys: [{ ...publicJwk, kid, alg: algorithm, use: "sig" }] }),
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
