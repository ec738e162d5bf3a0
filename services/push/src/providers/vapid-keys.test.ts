import { execFile } from "node:child_process";
import { createECDH, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, existsSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import webpush from "web-push";
import { loadVapidKeys, placeKeyFile, vapidKeysPath } from "./vapid-keys.js";

const dirs: string[] = [];
const dataDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), "push-vapid-"));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const subject = "mailto:ops@example.com";

describe("VAPID keys", () => {
  it("are generated once into DATA_DIR/keys/vapid.json (0600) and the same pair is read back on the next start", () => {
    const dir = dataDir();
    const first = loadVapidKeys({ subject }, dir);
    expect(Buffer.from(first.publicKey, "base64url")).toHaveLength(65);
    expect(statSync(vapidKeysPath(dir)).mode & 0o777).toBe(0o600);
    const second = loadVapidKeys({ subject }, dir);
    expect(second).toEqual(first);
    expect(JSON.parse(readFileSync(vapidKeysPath(dir), "utf8"))).toEqual({ publicKey: first.publicKey, privateKey: first.privateKey });
  });

  it("come from the environment when given, without touching DATA_DIR", () => {
    const dir = dataDir();
    const keys = webpush.generateVAPIDKeys();
    expect(loadVapidKeys({ ...keys, subject }, dir)).toEqual({ ...keys, subject });
    expect(existsSync(vapidKeysPath(dir))).toBe(false);
  });

  it("refuse half a pair, a public key of another private key, garbage, and a subject that is not mailto:/https:", () => {
    const dir = dataDir();
    const a = webpush.generateVAPIDKeys();
    expect(() => loadVapidKeys({ privateKey: a.privateKey, subject }, dir)).toThrow(/set both or neither \(the raw private key from VAPID_PRIVATE_KEY does not carry its public key/);
    const b = webpush.generateVAPIDKeys();
    expect(() => loadVapidKeys({ publicKey: a.publicKey, subject }, dir)).toThrow(/set both or neither/);
    expect(() => loadVapidKeys({ publicKey: a.publicKey, privateKey: b.privateKey, subject }, dir)).toThrow(/not the private key's/);
    expect(() => loadVapidKeys({ publicKey: "abc", privateKey: a.privateKey, subject }, dir)).toThrow(/65 bytes/);
    expect(() => loadVapidKeys({ subject: "ops@example.com" }, dir)).toThrow(/mailto: or https:/);
  });

  it("refuse a corrupt key file rather than silently replacing every subscription's key", () => {
    const dir = dataDir();
    mkdirSync(dirname(vapidKeysPath(dir)), { recursive: true });
    writeFileSync(vapidKeysPath(dir), "{ not json");
    expect(() => loadVapidKeys({ subject }, dir)).toThrow(/not JSON/);
  });

  it("are placed exclusively: a process that generated its pair after another wrote one adopts the first", () => {
    const path = vapidKeysPath(dataDir());
    const first = webpush.generateVAPIDKeys();
    const late = webpush.generateVAPIDKeys();
    expect(placeKeyFile(path, first)).toEqual(first);
    expect(placeKeyFile(path, late)).toEqual(first);
    expect(JSON.parse(readFileSync(path, "utf8"))).toEqual(first);
    expect(readdirSync(dirname(path))).toEqual(["vapid.json"]);
  });

  it("end up as one pair when several processes start on an empty DATA_DIR at once", async () => {
    const dir = dataDir();
    const module = resolve(dirname(fileURLToPath(import.meta.url)), "vapid-keys.ts");
    const script = `import { loadVapidKeys } from ${JSON.stringify(module)}; console.log(loadVapidKeys({ subject: "mailto:a@b.c" }, ${JSON.stringify(dir)}).publicKey);`;
    const run = promisify(execFile);
    const outputs = await Promise.all(Array.from({ length: 4 }, () => run(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script])));
    const keys = new Set(outputs.map((o) => o.stdout.trim()));
    expect(keys.size).toBe(1);
    expect([...keys][0]).toBe(JSON.parse(readFileSync(vapidKeysPath(dir), "utf8")).publicKey);
  });
});

/** The raw pair as a P-256 PEM private key: SEC1 is what a Helm chart's genPrivateKey "ecdsa" writes. */
function pemOf(raw: { publicKey: string; privateKey: string }, type: "sec1" | "pkcs8"): string {
  const point = Buffer.from(raw.publicKey, "base64url");
  const jwk = { kty: "EC", crv: "P-256", d: raw.privateKey, x: point.subarray(1, 33).toString("base64url"), y: point.subarray(33).toString("base64url") };
  return createPrivateKey({ key: jwk, format: "jwk" }).export({ type, format: "pem" }).toString();
}

describe("VAPID keys from a PEM private key", () => {
  it("give the same pair as the raw form of the key, SEC1 or PKCS#8, from VAPID_PRIVATE_KEY or a file, without touching DATA_DIR", () => {
    const dir = dataDir();
    const raw = webpush.generateVAPIDKeys();
    const sec1 = pemOf(raw, "sec1");
    expect(sec1).toMatch(/^-----BEGIN EC PRIVATE KEY-----\n/);
    const file = join(dir, "vapid.pem");
    writeFileSync(file, sec1);
    expect(loadVapidKeys({ privateKey: sec1, subject }, dir)).toEqual({ ...raw, subject });
    expect(loadVapidKeys({ privateKey: pemOf(raw, "pkcs8"), subject }, dir)).toEqual({ ...raw, subject });
    expect(loadVapidKeys({ privateKeyFile: file, subject }, dir)).toEqual({ ...raw, subject });
    expect(loadVapidKeys({ privateKeyFile: file, publicKey: raw.publicKey, subject }, dir)).toEqual({ ...raw, subject });
    expect(existsSync(vapidKeysPath(dir))).toBe(false);
  });

  it("keep a scalar's leading zero byte: the raw private key is always 32 bytes", () => {
    const scalar = Buffer.concat([Buffer.alloc(1), randomBytes(31)]);
    const ecdh = createECDH("prime256v1");
    ecdh.setPrivateKey(scalar);
    const raw = { publicKey: ecdh.getPublicKey().toString("base64url"), privateKey: scalar.toString("base64url") };
    expect(loadVapidKeys({ privateKey: pemOf(raw, "sec1"), subject }, dataDir())).toEqual({ ...raw, subject });
  });

  it("refuse a public key of another pair, a key that is not P-256, a public key, two keys, an unreadable file, and both sources at once", () => {
    const dir = dataDir();
    const pem = pemOf(webpush.generateVAPIDKeys(), "sec1");
    const other = webpush.generateVAPIDKeys();
    const file = join(dir, "vapid.pem");
    writeFileSync(file, pem);
    const refusal = (config: Parameters<typeof loadVapidKeys>[0]): string => {
      try {
        loadVapidKeys(config, dir);
      } catch (error) {
        return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      }
      return "accepted";
    };
    const p384 = generateKeyPairSync("ec", { namedCurve: "P-384" }).privateKey.export({ type: "sec1", format: "pem" }).toString();
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const ed25519 = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const publicPem = createPublicKey(pem).export({ type: "spki", format: "pem" }).toString();
    expect(refusal({ privateKeyFile: file, publicKey: other.publicKey, subject })).toBe(`VapidKeyError: VAPID_PUBLIC_KEY is not the public key of the private key from VAPID_PRIVATE_KEY_FILE ${file}`);
    expect(refusal({ privateKey: pem, publicKey: "abc", subject })).toMatch(/VAPID_PUBLIC_KEY must be 65 bytes/);
    expect(refusal({ privateKey: p384, subject })).toBe("VapidKeyError: the VAPID private key from VAPID_PRIVATE_KEY is an EC key on secp384r1; VAPID needs a P-256 (prime256v1) EC key");
    expect(refusal({ privateKey: rsa, subject })).toMatch(/is a rsa key; VAPID needs a P-256/);
    expect(refusal({ privateKey: ed25519, subject })).toMatch(/is a ed25519 key; VAPID needs a P-256/);
    expect(refusal({ privateKey: publicPem, subject })).toMatch(/from VAPID_PRIVATE_KEY is a public key; give the private key/);
    expect(refusal({ privateKey: pem + pem, subject })).toMatch(/must be one PEM block, not 2/);
    expect(refusal({ privateKey: pem.replace(/\n[A-Za-z0-9+/]{8}/, "\n!!!!!!!!"), subject })).toMatch(/VAPID_PRIVATE_KEY is not a readable PEM private key/);
    expect(refusal({ privateKeyFile: join(dir, "missing.pem"), subject })).toMatch(/cannot read VAPID_PRIVATE_KEY_FILE .*missing\.pem: ENOENT/);
    expect(refusal({ privateKey: pem, privateKeyFile: file, subject })).toMatch(/VAPID_PRIVATE_KEY and VAPID_PRIVATE_KEY_FILE: set one, not both/);
    expect(existsSync(vapidKeysPath(dir))).toBe(false);
  });
});
