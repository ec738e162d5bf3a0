import { createHash, createPrivateKey, generateKeyPairSync, randomUUID, type KeyObject } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { exportJWK, generateKeyPair, type JWK } from "jose";

/** The one signing algorithm of our tokens. */
export const signingAlgorithm = "EdDSA";

/**
 * A signing key set: private Ed25519 JWKs, each with its `kid`. The first signs; every one is
 * published in the JWKS, so tokens signed by a key that was current before still verify
 * after a rotation. Stored either as `{ "keys": [...] }` (a private JWKS) or as PEM private
 * keys (Ed25519 in PKCS#8, concatenated: what a Helm chart's `genPrivateKey "ed25519"` makes),
 * e.g. in a Kubernetes Secret every accounts replica mounts, so all replicas sign with the same
 * key.
 */
export interface SigningKeySet {
  readonly keys: readonly JWK[];
}

/** A set file that cannot be used, with what is wrong. */
export class SigningKeyError extends Error {
  override readonly name = "SigningKeyError";
}

/** A set as stored: the PEM form keeps each key's block so a rotation writes the kept ones back unchanged. */
type StoredSet = { readonly format: "jwks"; readonly keys: JWK[] } | { readonly format: "pem"; readonly keys: JWK[]; readonly pems: string[] };

async function newSigningKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPair(signingAlgorithm, { extractable: true, crv: "Ed25519" });
  return { ...(await exportJWK(privateKey)), kid: randomUUID(), alg: signingAlgorithm };
}

function newPemKey(): string {
  return generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
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

const pemBlocks = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

const otherBlocks: Readonly<Record<string, string>> = {
  "EC PRIVATE KEY": "an EC private key (SEC1)",
  "RSA PRIVATE KEY": "an RSA private key",
  "ENCRYPTED PRIVATE KEY": "an encrypted private key (give it unencrypted)",
  "PUBLIC KEY": "a public key (the private key is needed)",
};

/**
 * Reads PEM private keys, in file order. The kid of each is its public key's RFC 7638 JWK
 * thumbprint, so every replica and every restart names a key the same without storing a kid.
 */
export function parsePemSigningKeys(text: string, where: string): { keys: JWK[]; pems: string[] } {
  const keys: JWK[] = [];
  const pems: string[] = [];
  for (const [block, label = ""] of text.matchAll(pemBlocks)) {
    const which = `PEM block ${pems.length + 1}`;
    if (label !== "PRIVATE KEY") throw new SigningKeyError(`${where}: ${which} is ${otherBlocks[label] ?? `a "${label}"`}; every key must be an Ed25519 private key in PKCS#8 ("BEGIN PRIVATE KEY")`);
    let key: KeyObject;
    try {
      key = createPrivateKey(block);
    } catch (err) {
      throw new SigningKeyError(`${where}: ${which} is not a readable private key (${err instanceof Error ? err.message : String(err)})`);
    }
    if (key.asymmetricKeyType !== "ed25519") throw new SigningKeyError(`${where}: ${which} is ${key.asymmetricKeyType === "rsa" ? "an RSA" : key.asymmetricKeyType === "ec" ? "an EC" : `a ${String(key.asymmetricKeyType)}`} key; every key must be Ed25519`);
    const { d, x } = key.export({ format: "jwk" });
    if (typeof d !== "string" || typeof x !== "string") throw new SigningKeyError(`${where}: ${which} did not export as an Ed25519 JWK`);
    const kid = jwkThumbprint(x);
    const twin = keys.findIndex((k) => k.kid === kid);
    if (twin >= 0) throw new SigningKeyError(`${where}: ${which} is the same key as PEM block ${twin + 1}`);
    keys.push({ kty: "OKP", crv: "Ed25519", x, d, kid, alg: signingAlgorithm });
    pems.push(`${block}\n`);
  }
  if (text.replace(pemBlocks, "").trim() !== "") throw new SigningKeyError(`${where}: holds text outside its PEM blocks`);
  if (keys.length === 0) throw new SigningKeyError(`${where}: no signing keys`);
  return { keys, pems };
}

/** RFC 7638: SHA-256 over the required members of the public JWK, in lexicographic order, URL-safe base64. */
function jwkThumbprint(x: string): string {
  return createHash("sha256").update(JSON.stringify({ crv: "Ed25519", kty: "OKP", x })).digest("base64url");
}

function readStoredSet(path: string): StoredSet {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new SigningKeyError(`${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (text.trimStart().startsWith("{")) {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new SigningKeyError(`${path}: ${err instanceof Error ? err.message : String(err)}`);
    }
    return { format: "jwks", keys: [...parseSigningKeys(json, path).keys] };
  }
  if (text.includes("-----BEGIN ")) return { format: "pem", ...parsePemSigningKeys(text, path) };
  throw new SigningKeyError(`${path}: neither a JSON key set ({"keys": [...]}) nor PEM private keys`);
}

/** The set at `path`: a private JWKS, a single private JWK, or PEM Ed25519 private keys (PKCS#8). */
export function readSigningKeys(path: string): SigningKeySet {
  return { keys: readStoredSet(path).keys };
}

function writeKeyFile(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, path);
}

const jwksText = (keys: readonly JWK[]): string => `${JSON.stringify({ keys }, null, 2)}\n`;

/** The set at `path`, made with one new key on first use (the one-process system, a single accounts). */
export async function loadOrCreateSigningKeys(path: string): Promise<SigningKeySet> {
  if (existsSync(path)) return readSigningKeys(path);
  const set = { keys: [await newSigningKey()] };
  writeKeyFile(path, jwksText(set.keys));
  return set;
}

/**
 * Rotates the set at `path`: a new key becomes current, the one before stays published, older
 * ones go, keeping `keep` keys. The file keeps its format; a missing file is made, as PEM
 * when its name ends in `.pem`, else as a JWKS. Tokens last ACCESS_TOKEN_TTL_SECONDS: rotate
 * again only once that has passed since the last rotation reached every replica, or tokens
 * signed with the dropped key stop verifying.
 */
export async function rotateSigningKeys(path: string, keep = 2): Promise<SigningKeySet> {
  if (keep < 1) throw new SigningKeyError("keep at least the new key");
  const before: StoredSet = existsSync(path) ? readStoredSet(path) : path.endsWith(".pem") ? { format: "pem", keys: [], pems: [] } : { format: "jwks", keys: [] };
  if (before.format === "pem") {
    const text = [newPemKey(), ...before.pems].slice(0, keep).join("");
    const set = { keys: parsePemSigningKeys(text, path).keys };
    writeKeyFile(path, text);
    return set;
  }
  const set = { keys: [await newSigningKey(), ...before.keys].slice(0, keep) };
  writeKeyFile(path, jwksText(set.keys));
  return set;
}
