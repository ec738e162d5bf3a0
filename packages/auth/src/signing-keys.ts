import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { exportJWK, generateKeyPair, type JWK } from "jose";

/** The one signing algorithm of our tokens. */
export const signingAlgorithm = "EdDSA";

/**
 * A signing key set: private Ed25519 JWKs, each with its `kid`. The first signs; every one is
 * published in the JWKS, so tokens signed by a key that was current before still verify
 * after a rotation. Stored as `{ "keys": [...] }` (a private JWKS), e.g. in a Kubernetes
 * Secret every accounts replica mounts, so all replicas sign with the same key.
 */
export interface SigningKeySet {
  readonly keys: readonly JWK[];
}

/** A set file that cannot be used, with what is wrong. */
export class SigningKeyError extends Error {
  override readonly name = "SigningKeyError";
}

async function newSigningKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPair(signingAlgorithm, { extractable: true, crv: "Ed25519" });
  return { ...(await exportJWK(privateKey)), kid: randomUUID(), alg: signingAlgorithm };
}

/** Checks a parsed set (or a single private JWK, the older one-key file): every key Ed25519, private, with a distinct kid. */
export function parseSigningKeys(json: unknown, where: string): SigningKeySet {
  const keys = typeof json === "object" && json !== null && "keys" in json ? (json as { keys: unknown }).keys : [json];
  if (!Array.isArray(keys) || keys.length === 0) throw new SigningKeyError(`${where}: no signing keys`);
  const kids = new Set<string>();
  for (const k of keys as JWK[]) {
    if (typeof k !== "object" || k === null || k.kty !== "OKP" || k.crv !== "Ed25519" || typeof k.d !== "string" || typeof k.x !== "string") {
      throw new SigningKeyError(`${where}: every key must be a private Ed25519 JWK (kty OKP, crv Ed25519, d, x)`);
    }
    if (!k.kid || kids.has(k.kid)) throw new SigningKeyError(`${where}: every key needs a kid of its own`);
    kids.add(k.kid);
  }
  return { keys: keys as JWK[] };
}

export function readSigningKeys(path: string): SigningKeySet {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new SigningKeyError(`${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return parseSigningKeys(json, path);
}

function writeSigningKeys(path: string, set: SigningKeySet): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify({ keys: set.keys }, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}

/** The set at `path`, made with one new key on first use (the one-process system, a single accounts). */
export async function loadOrCreateSigningKeys(path: string): Promise<SigningKeySet> {
  if (existsSync(path)) return readSigningKeys(path);
  const set = { keys: [await newSigningKey()] };
  writeSigningKeys(path, set);
  return set;
}

/**
 * Rotates the set at `path` (made when missing): a new key becomes current, the one before
 * stays published, older ones go, keeping `keep` keys. Tokens last ACCESS_TOKEN_TTL_SECONDS:
 * rotate again only once that has passed since the last rotation reached every replica, or
 * tokens signed with the dropped key stop verifying.
 */
export async function rotateSigningKeys(path: string, keep = 2): Promise<SigningKeySet> {
  if (keep < 1) throw new SigningKeyError("keep at least the new key");
  const before = existsSync(path) ? readSigningKeys(path).keys : [];
  const set = { keys: [await newSigningKey(), ...before].slice(0, keep) };
  writeSigningKeys(path, set);
  return set;
}
