import { createECDH, createPrivateKey, randomUUID, type KeyObject } from "node:crypto";
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import webpush from "web-push";

/** The server's VAPID identity (RFC 8292): the keys as URL-safe base64, and who to contact. */
export interface VapidKeys {
  /** The uncompressed P-256 point (65 bytes): what a browser passes as `applicationServerKey`. */
  readonly publicKey: string;
  /** The 32-byte private scalar. */
  readonly privateKey: string;
  /** `mailto:` or `https:`: how a push service reaches the operator. */
  readonly subject: string;
}

/** Raised when configured or stored VAPID keys are not usable. */
export class VapidKeyError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "VapidKeyError";
  }
}

/** Where generated keys are kept, relative to DATA_DIR. */
export const vapidKeysPath = (dataDir: string): string => join(dataDir, "keys", "vapid.json");

/** Where the VAPID keys may be given; unset, they are generated into DATA_DIR. */
export interface VapidConfig {
  /** VAPID_PUBLIC_KEY: URL-safe base64; needed beside a raw private key, optional beside a PEM one (then it must match). */
  readonly publicKey?: string | undefined;
  /** VAPID_PRIVATE_KEY: the 32-byte scalar as URL-safe base64, or a P-256 PEM private key (SEC1 or PKCS#8). */
  readonly privateKey?: string | undefined;
  /** VAPID_PRIVATE_KEY_FILE: a file (a mounted Secret) holding the private key in either form. */
  readonly privateKeyFile?: string | undefined;
  readonly subject: string;
}

/**
 * The VAPID keys: from the configured private key when one is given (a PEM key, such as a Helm
 * chart's `genPrivateKey "ecdsa"` writes, carries its public key; a raw scalar needs
 * VAPID_PUBLIC_KEY beside it), else the ones generated into DATA_DIR/keys/vapid.json on the
 * first start and read back on every later one (a new key pair would orphan every browser
 * subscription, since a subscription is bound to the public key). The file is 0600 and two
 * processes starting together agree on one pair (`placeKeyFile`).
 */
export function loadVapidKeys(config: VapidConfig, dataDir: string): VapidKeys {
  checkSubject(config.subject);
  const given = givenPrivateKey(config);
  if (given) return fromPrivateKey(given.text, given.from, config.publicKey, config.subject);
  if (config.publicKey !== undefined) throw new VapidKeyError("VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY go together: set both or neither (or VAPID_PRIVATE_KEY_FILE)");
  const path = vapidKeysPath(dataDir);
  const stored = readStored(path);
  if (stored) return checked({ ...stored, subject: config.subject }, path);
  return checked({ ...placeKeyFile(path, webpush.generateVAPIDKeys()), subject: config.subject }, path);
}

/** Where `loadVapidKeys` takes the keys from, for the start-up log. */
export function vapidKeysSource(config: VapidConfig, dataDir: string): string {
  if (config.privateKeyFile !== undefined) return `VAPID_PRIVATE_KEY_FILE ${config.privateKeyFile}`;
  return config.privateKey !== undefined ? "VAPID_PRIVATE_KEY" : vapidKeysPath(dataDir);
}

function givenPrivateKey(config: VapidConfig): { text: string; from: string } | undefined {
  if (config.privateKey !== undefined && config.privateKeyFile !== undefined) throw new VapidKeyError("VAPID_PRIVATE_KEY and VAPID_PRIVATE_KEY_FILE: set one, not both");
  if (config.privateKey !== undefined) return { text: config.privateKey, from: "VAPID_PRIVATE_KEY" };
  if (config.privateKeyFile === undefined) return undefined;
  const from = `VAPID_PRIVATE_KEY_FILE ${config.privateKeyFile}`;
  try {
    return { text: readFileSync(config.privateKeyFile, "utf8"), from };
  } catch (error) {
    throw new VapidKeyError(`cannot read ${from}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

function fromPrivateKey(text: string, from: string, publicKey: string | undefined, subject: string): VapidKeys {
  if (text.includes("-----BEGIN ")) {
    const pair = fromPem(text, from);
    if (publicKey !== undefined && publicKey !== pair.publicKey) {
      throw new VapidKeyError(decodedLength(publicKey) === 65 ? `VAPID_PUBLIC_KEY is not the public key of the private key from ${from}` : "VAPID_PUBLIC_KEY must be 65 bytes of URL-safe base64 (an uncompressed P-256 point)");
    }
    return checked({ ...pair, subject }, from);
  }
  if (publicKey === undefined) throw new VapidKeyError(`VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY go together: set both or neither (the raw private key from ${from} does not carry its public key; a PEM one does)`);
  return checked({ publicKey, privateKey: text.trim(), subject }, `the environment (VAPID_PUBLIC_KEY, ${from})`);
}

/** The raw pair of a P-256 PEM private key: the scalar, and the uncompressed point derived from it. */
function fromPem(text: string, from: string): { publicKey: string; privateKey: string } {
  const labels = [...text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----/g)].map((m) => m[1]);
  if (labels.length !== 1) throw new VapidKeyError(`the VAPID private key from ${from} must be one PEM block, not ${labels.length}`);
  if (labels[0]?.includes("PUBLIC KEY")) throw new VapidKeyError(`the VAPID private key from ${from} is a public key; give the private key (its public key is derived from it)`);
  let key: KeyObject;
  try {
    key = createPrivateKey(text);
  } catch (error) {
    throw new VapidKeyError(`the VAPID private key from ${from} is not a readable PEM private key (${error instanceof Error ? error.message : String(error)})`, { cause: error });
  }
  if (key.asymmetricKeyType !== "ec" || key.asymmetricKeyDetails?.namedCurve !== "prime256v1") {
    const what = key.asymmetricKeyType === "ec" ? `an EC key on ${String(key.asymmetricKeyDetails?.namedCurve)}` : `a ${String(key.asymmetricKeyType)} key`;
    throw new VapidKeyError(`the VAPID private key from ${from} is ${what}; VAPID needs a P-256 (prime256v1) EC key`);
  }
  const { d, x, y } = key.export({ format: "jwk" });
  if (d === undefined || x === undefined || y === undefined) throw new VapidKeyError(`the VAPID private key from ${from} did not export as a P-256 JWK`);
  // RFC 8292 names the key by its uncompressed point: 0x04 || x || y.
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(x, "base64url"), Buffer.from(y, "base64url")]);
  return { publicKey: point.toString("base64url"), privateKey: d };
}

/**
 * Puts `generated` at `path` unless a pair is already there, and returns the pair that is: the
 * file is written aside and hard-linked into place, which fails when the name exists, so it is
 * never seen half-written and a process that loses the race adopts the winner's pair.
 */
export function placeKeyFile(path: string, generated: { publicKey: string; privateKey: string }): { publicKey: string; privateKey: string } {
  mkdirSync(dirname(path), { recursive: true });
  const aside = `${path}.${randomUUID()}.tmp`;
  writeFileSync(aside, `${JSON.stringify({ publicKey: generated.publicKey, privateKey: generated.privateKey })}\n`, { mode: 0o600, flag: "wx" });
  try {
    linkSync(aside, path);
    return { publicKey: generated.publicKey, privateKey: generated.privateKey };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    const winner = readStored(path);
    if (!winner) throw new VapidKeyError(`${path} vanished while starting`, { cause: error });
    return winner;
  } finally {
    unlinkSync(aside);
  }
}

function readStored(path: string): { publicKey: string; privateKey: string } | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed === "object" && parsed !== null && "publicKey" in parsed && "privateKey" in parsed && typeof parsed.publicKey === "string" && typeof parsed.privateKey === "string") {
      return { publicKey: parsed.publicKey, privateKey: parsed.privateKey };
    }
  } catch (error) {
    throw new VapidKeyError(`${path} is not JSON`, { cause: error });
  }
  throw new VapidKeyError(`${path} lacks publicKey / privateKey`);
}

function checked(keys: VapidKeys, from: string): VapidKeys {
  if (decodedLength(keys.publicKey) !== 65) throw new VapidKeyError(`the VAPID public key from ${from} must be 65 bytes of URL-safe base64 (an uncompressed P-256 point)`);
  if (decodedLength(keys.privateKey) !== 32) throw new VapidKeyError(`the VAPID private key from ${from} must be 32 bytes of URL-safe base64`);
  const derived = createECDH("prime256v1");
  derived.setPrivateKey(Buffer.from(keys.privateKey, "base64url"));
  if (!derived.getPublicKey().equals(Buffer.from(keys.publicKey, "base64url"))) throw new VapidKeyError(`the VAPID public key from ${from} is not the private key's`);
  return keys;
}

function decodedLength(text: string): number {
  return /^[A-Za-z0-9_-]+$/.test(text) ? Buffer.from(text, "base64url").length : -1;
}

function checkSubject(subject: string): void {
  if (!/^(mailto:.+|https:\/\/.+)$/.test(subject)) throw new VapidKeyError(`VAPID_SUBJECT must be a mailto: or https: URL, not "${subject}"`);
}
