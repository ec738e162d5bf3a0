import { createHash, createPrivateKey, generateKeyPairSync, randomUUID, type KeyObject } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { exportJWK, generateKeyPair, type JWK } from "jose";

/** The one signing algorithm of our tokens. */
export const signingAlgorithm = "EdDSA";

/**
 * A signing key set: private Ed25519 JWKs, each with its `kid`. The first signs; every one is
 * published in the JWKS, so tokens signed by a key that was current before still verify
 * after a rotation, and a key added for the next rotation is known to every verifier before
 * it signs. Stored either as `{ "keys": [...] }` (a private JWKS) or as PEM private keys
 * (Ed25519 in PKCS#8, concatenated: what a Helm chart's `genPrivateKey "ed25519"` makes),
 * e.g. in a Kubernetes Secret every accounts replica mounts, so all replicas sign with the same
 * key.
 */
export interface SigningKeySet {
  readonly keys: readonly JWK[];
  /** The kid of the key `addSigningKey` added: published, never first, signing only once `promoteSigningKey` moves it first. */
  readonly pending?: string;
}

/** A set file that cannot be used, with what is wrong. */
export class SigningKeyError extends Error {
  override readonly name = "SigningKeyError";
}

/**
 * A set as stored: the PEM form keeps each key's block so a rotation writes the kept ones back
 * unchanged; `pending` is the index of the added key waiting to be promoted, if any.
 */
type StoredSet = { readonly format: "jwks"; readonly keys: JWK[]; readonly pending?: number } | { readonly format: "pem"; readonly keys: JWK[]; readonly pems: string[]; readonly pending?: number };

/**
 * A key of a JSON set as stored: `pending` marks the added key. Order alone cannot tell it from
 * a key kept after a rotation (both come after the signing key), and promoting the wrong one
 * would bring an old key back. readSigningKeys strips the mark, so it is never published.
 */
type StoredJwk = JWK & { readonly pending?: boolean };

/**
 * The same mark in a PEM set: a line of explanatory text just before the block, which RFC 7468
 * lets parsers ignore (OpenSSL does), so the file stays plain PEM for other tools.
 */
const pendingPemLine = "Published only (npm run token-keys -- add): it signs once promoted (npm run token-keys -- promote).";

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

const pemBlocks = new RegExp(`(${pendingPemLine.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\n)?(-----BEGIN ([A-Z0-9 ]+)-----[\\s\\S]*?-----END \\3-----)`, "g");

const otherBlocks: Readonly<Record<string, string>> = {
  "EC PRIVATE KEY": "an EC private key (SEC1)",
  "RSA PRIVATE KEY": "an RSA private key",
  "ENCRYPTED PRIVATE KEY": "an encrypted private key (give it unencrypted)",
  "PUBLIC KEY": "a public key (the private key is needed)",
};

/**
 * Reads PEM private keys, in file order. The kid of each is its public key's RFC 7638 JWK
 * thumbprint, so every replica and every restart names a key the same without storing a kid.
 * `pending` lists the blocks marked as added and not yet promoted; `pems` holds the blocks
 * without that mark.
 */
export function parsePemSigningKeys(text: string, where: string): { keys: JWK[]; pems: string[]; pending: number[] } {
  const keys: JWK[] = [];
  const pems: string[] = [];
  const pending: number[] = [];
  for (const [, mark, block = "", label = ""] of text.matchAll(pemBlocks)) {
    const which = `PEM block ${pems.length + 1}`;
    if (mark) pending.push(pems.length);
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
  return { keys, pems, pending };
}

/** At most one key waits, and never the first: the first signs. */
function pendingIndex(marked: readonly number[], keys: readonly JWK[], where: string): number | undefined {
  if (marked.length > 1) throw new SigningKeyError(`${where}: ${marked.length} keys are marked as added and not yet promoted; at most one may be`);
  if (marked[0] === 0) throw new SigningKeyError(`${where}: the first key signs, yet it is marked as added and not yet promoted (${keys[0]!.kid})`);
  return marked[0];
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
    const parsed: readonly StoredJwk[] = parseSigningKeys(json, path).keys;
    const marked = parsed.flatMap((k, i) => (k.pending === true ? [i] : []));
    const keys = parsed.map(({ pending: _mark, ...k }) => k);
    return { format: "jwks", keys, pending: pendingIndex(marked, keys, path) };
  }
  if (text.includes("-----BEGIN ")) {
    const { keys, pems, pending } = parsePemSigningKeys(text, path);
    return { format: "pem", keys, pems, pending: pendingIndex(pending, keys, path) };
  }
  throw new SigningKeyError(`${path}: neither a JSON key set ({"keys": [...]}) nor PEM private keys`);
}

const asSet = (stored: StoredSet): SigningKeySet => (stored.pending === undefined ? { keys: stored.keys } : { keys: stored.keys, pending: stored.keys[stored.pending]!.kid! });

/** The set at `path`: a private JWKS, a single private JWK, or PEM Ed25519 private keys (PKCS#8). */
export function readSigningKeys(path: string): SigningKeySet {
  return asSet(readStoredSet(path));
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
 * Rotates the set at `path` in one step: a new key becomes current, the one before stays
 * published, older ones go, keeping `keep` keys. The file keeps its format; a missing file is
 * made, as PEM when its name ends in `.pem`, else as a JWKS. Meant for one replica: with
 * several, the first restarted signs with a key the others do not publish yet, so use
 * addSigningKey, roll out, then promoteSigningKey. Tokens last ACCESS_TOKEN_TTL_SECONDS:
 * rotate again only once that has passed since the last rotation reached every replica, or
 * tokens signed with the dropped key stop verifying.
 */
export async function rotateSigningKeys(path: string, keep = 2): Promise<SigningKeySet> {
  if (keep < 1) throw new SigningKeyError("keep at least the new key");
  const before: StoredSet = existsSync(path) ? readStoredSet(path) : path.endsWith(".pem") ? { format: "pem", keys: [], pems: [] } : { format: "jwks", keys: [] };
  if (before.pending !== undefined) throw new SigningKeyError(`${path}: ${before.keys[before.pending]!.kid} was added and waits to be promoted; promote it instead of rotating, which would make another key sign`);
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

/**
 * The first phase of a rotation across replicas: a new key joins the set at `path` after the
 * others, published but not signing, so once every replica has the file every JWKS knows it.
 * The file keeps its format (a JSON set keeps its first key first; a PEM set gets the new block
 * at the end) and must exist. Refused while an added key still waits to be promoted.
 */
export async function addSigningKey(path: string): Promise<SigningKeySet> {
  const before = readStoredSet(path);
  if (before.pending !== undefined) throw new SigningKeyError(`${path}: ${before.keys[before.pending]!.kid} was already added and waits to be promoted; promote it first`);
  if (before.format === "pem") {
    const text = `${before.pems.join("")}${pendingPemLine}\n${newPemKey()}`;
    const parsed = parsePemSigningKeys(text, path);
    writeKeyFile(path, text);
    return { keys: parsed.keys, pending: parsed.keys.at(-1)!.kid! };
  }
  const added = await newSigningKey();
  const marked: StoredJwk = { ...added, pending: true };
  writeKeyFile(path, jwksText([...before.keys, marked]));
  return { keys: [...before.keys, added], pending: added.kid! };
}

/**
 * The second phase: the key addSigningKey added (which every replica must publish by now)
 * moves first and signs; the one that signed stays published, older ones go, keeping `keep`
 * keys, as rotateSigningKeys does. Refused when no added key waits.
 */
export async function promoteSigningKey(path: string, keep = 2): Promise<SigningKeySet> {
  if (keep < 1) throw new SigningKeyError("keep at least the promoted key");
  const before = readStoredSet(path);
  const at = before.pending;
  if (at === undefined) throw new SigningKeyError(`${path}: no added key waits to be promoted (its first key, ${before.keys[0]!.kid}, already signs); add one with npm run token-keys -- add, roll it out to every accounts replica, then promote`);
  const order = <T>(items: readonly T[]): T[] => [items[at]!, ...items.filter((_, i) => i !== at)].slice(0, keep);
  const keys = order(before.keys);
  writeKeyFile(path, before.format === "pem" ? order(before.pems).join("") : jwksText(keys));
  return { keys };
}
