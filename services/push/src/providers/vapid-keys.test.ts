import { execFile } from "node:child_process";
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
