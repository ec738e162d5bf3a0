import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readSigningKeys, rotateSigningKeys, SigningKeyError } from "./signing-keys.js";
import { createTokenIssuer, createTokenVerifier } from "./tokens.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "messenger-keys-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const kidOf = (token: string): string => (JSON.parse(Buffer.from(token.split(".")[0]!, "base64url").toString()) as { kid: string }).kid;

describe("the signing key set", () => {
  it("lets every replica sign with the shared current key, and a token of any replica verifies everywhere", async () => {
    const file = join(dir, "keys.json");
    await rotateSigningKeys(file);
    const [a, b] = await Promise.all([1, 2].map(() => createTokenIssuer({ keyPath: join(dir, "unused.json"), keySetPath: file, ttlSeconds: 60 })));
    const verifier = createTokenVerifier({ jwks: a!.jwks() });
    const fromB = await b!.issue({ userId: "u1", deviceId: "phone" });
    expect(await verifier.verify(fromB.token)).toEqual({ userId: "u1", deviceId: "phone" });
    expect(kidOf(fromB.token)).toBe(readSigningKeys(file).keys[0]!.kid);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it("rotates without logging anyone out: the new key signs, the previous stays published, the one before goes", async () => {
    const file = join(dir, "keys.json");
    await rotateSigningKeys(file);
    const before = await createTokenIssuer({ keyPath: "", keySetPath: file, ttlSeconds: 60 });
    const oldToken = (await before.issue({ userId: "u1", deviceId: "phone" })).token;

    await rotateSigningKeys(file);
    const after = await createTokenIssuer({ keyPath: "", keySetPath: file, ttlSeconds: 60 });
    const newToken = (await after.issue({ userId: "u1", deviceId: "phone" })).token;
    expect(kidOf(newToken)).not.toBe(kidOf(oldToken));
    expect(after.jwks().keys.map((k) => k.kid)).toEqual([kidOf(newToken), kidOf(oldToken)]);
    expect(after.jwks().keys.every((k) => !("d" in k))).toBe(true);
    const verifier = createTokenVerifier({ jwks: after.jwks() });
    await verifier.verify(oldToken);
    await verifier.verify(newToken);

    await rotateSigningKeys(file);
    const later = createTokenVerifier({ jwks: (await createTokenIssuer({ keyPath: "", keySetPath: file, ttlSeconds: 60 })).jwks() });
    await later.verify(newToken);
    await expect(later.verify(oldToken)).rejects.toThrow(/invalid access token/);
  });

  it("refuses a set it cannot trust, saying why, and still reads the older one-key file", async () => {
    const file = join(dir, "bad.json");
    writeFileSync(file, JSON.stringify({ keys: [{ kty: "OKP", crv: "Ed25519", x: "abc", kid: "k1" }] }));
    expect(() => readSigningKeys(file)).toThrow(SigningKeyError);
    expect(() => readSigningKeys(file)).toThrow(/private Ed25519/);
    const single = join(dir, "single.json");
    await rotateSigningKeys(single);
    const [key] = readSigningKeys(single).keys;
    writeFileSync(single, JSON.stringify(key));
    expect(readSigningKeys(single).keys.map((k) => k.kid)).toEqual([key!.kid]);
  });

  it("npm run token-keys rotates a file and shows which key signs", async () => {
    const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
    const file = join(dir, "secret", "keys.json");
    const run = (...args: string[]) => promisify(execFile)(process.execPath, ["--import", "tsx", "scripts/token-keys.ts", ...args], { cwd: root });
    await run("rotate", file);
    const { stdout } = await run("rotate", file);
    const kids = readSigningKeys(file).keys.map((k) => k.kid);
    expect(stdout).toBe(`signs     ${kids[0]}\npublished ${kids[1]}\n`);
    expect((await run("show", file)).stdout).toBe(stdout);
    expect(JSON.parse(readFileSync(file, "utf8")).keys).toHaveLength(2);
  });
});
