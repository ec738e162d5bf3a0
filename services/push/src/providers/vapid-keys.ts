import { createECDH, randomUUID } from "node:crypto";
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

/**
 * The VAPID keys: from the environment when both keys are given, else the ones generated into
 * DATA_DIR/keys/vapid.json on the first start and read back on every later one (a new key pair
 * would orphan every browser subscription, since a subscription is bound to the public key).
 * The file is 0600 and two processes starting together agree on one pair (`placeKeyFile`).
 */
export function loadVapidKeys(config: { publicKey?: string | undefined; privateKey?: string | undefined; subject: string }, dataDir: string): VapidKeys {
  checkSubject(config.subject);
  if (config.publicKey !== undefined || config.privateKey !== undefined) {
    if (config.publicKey === undefined || config.privateKey === undefined) throw new VapidKeyError("VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY go together: set both or neither");
    return checked({ publicKey: config.publicKey, privateKey: config.privateKey, subject: config.subject }, "the environment");
  }
  const path = vapidKeysPath(dataDir);
  const stored = readStored(path);
  if (stored) return checked({ ...stored, subject: config.subject }, path);
  return checked({ ...placeKeyFile(path, webpush.generateVAPIDKeys()), subject: config.subject }, path);
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
