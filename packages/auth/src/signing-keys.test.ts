import { execFile } from "node:child_process";
import { createPrivateKey, createPublicKey, generateKeyPairSync } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { calculateJwkThumbprint } from "jose";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { addSigningKey, promoteSigningKey, readSigningKeys, rotateSigningKeys, SigningKeyError } from "./signing-keys.js";
import { createTokenIssuer, createTokenVerifier } from "./tokens.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "messenger-keys-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const tokenKeys = (...args: string[]) => promisify(execFile)(process.execPath, ["--import", "tsx", "scripts/token-keys.ts", ...args], { cwd: root });
const kidOf = (token: string): string => (JSON.parse(Buffer.from(token.split(".")[0]!, "base64url").toString()) as { kid: string }).kid;
/** What the script says and its exit code, for runs that must fail. */
const tokenKeysFailing = async (...args: string[]): Promise<{ code: unknown; stderr: string }> =>
  tokenKeys(...args).then(
    () => ({ code: 0, stderr: "" }),
    (err: { code?: unknown; stderr?: string }) => ({ code: err.code, stderr: err.stderr ?? "" }),
  );
/** A replica started on the file as it is now: its token and the JWKS it serves. */
const replica = async (file: string): Promise<{ token: string; jwks: ReturnType<Awaited<ReturnType<typeof createTokenIssuer>>["jwks"]> }> => {
  const issuer = await createTokenIssuer({ keyPath: "", keySetPath: file, ttlSeconds: 60 });
  return { token: (await issuer.issue({ userId: "u1", deviceId: "phone" })).token, jwks: issuer.jwks() };
};

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
    const file = join(dir, "secret", "keys.json");
    await tokenKeys("rotate", file);
    const { stdout } = await tokenKeys("rotate", file);
    const kids = readSigningKeys(file).keys.map((k) => k.kid);
    expect(stdout).toBe(`signs     ${kids[0]}\npublished ${kids[1]}\n`);
    expect((await tokenKeys("show", file)).stdout).toBe(stdout);
    expect(JSON.parse(readFileSync(file, "utf8")).keys).toHaveLength(2);
  });
});

// Made the way sprig's genPrivateKey makes them: "ed25519" is PKCS#8 ("BEGIN PRIVATE KEY"),
// "ecdsa" a P-256 key in SEC1 ("BEGIN EC PRIVATE KEY"), "rsa" PKCS#1.
const ed25519Pem = (): string => generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
/** The kid a key must get, computed by jose rather than by the code under test. */
const thumbprintOf = (pem: string): Promise<string> => {
  const { x } = createPublicKey(pem).export({ format: "jwk" });
  return calculateJwkThumbprint({ kty: "OKP", crv: "Ed25519", x: x! });
};

describe("a signing key set of PEM keys (a Helm chart's genPrivateKey \"ed25519\")", () => {
  it("signs with the first key, publishes all, and names each by its RFC 7638 thumbprint", async () => {
    const [first, second] = [ed25519Pem(), ed25519Pem()];
    const file = join(dir, "token-signing.pem");
    writeFileSync(file, first + second);
    const issuer = await createTokenIssuer({ keyPath: "", keySetPath: file, ttlSeconds: 60 });
    const { token } = await issuer.issue({ userId: "u1", deviceId: "phone" });
    expect(kidOf(token)).toBe(await thumbprintOf(first));
    expect(issuer.jwks().keys.map((k) => k.kid)).toEqual([await thumbprintOf(first), await thumbprintOf(second)]);
    expect(issuer.jwks().keys.every((k) => !("d" in k))).toBe(true);
    expect(await createTokenVerifier({ jwks: issuer.jwks() }).verify(token)).toEqual({ userId: "u1", deviceId: "phone" });
  });

  it("lets a token signed by one process verify with the JWKS another process serves from the same file, under the same kid", async () => {
    const file = join(dir, "token-signing.pem");
    writeFileSync(file, ed25519Pem());
    const tokens = join(dirname(fileURLToPath(import.meta.url)), "tokens.ts");
    const script = `import { createTokenIssuer } from ${JSON.stringify(tokens)}; const i = await createTokenIssuer({ keyPath: "", keySetPath: ${JSON.stringify(file)}, ttlSeconds: 60 }); console.log((await i.issue({ userId: "u1", deviceId: "phone" })).token);`;
    const sign = async () => (await promisify(execFile)(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script])).stdout.trim();
    const [a, b] = await Promise.all([sign(), sign()]);
    const verifier = createTokenVerifier({ jwks: (await createTokenIssuer({ keyPath: "", keySetPath: file, ttlSeconds: 60 })).jwks() });
    expect(await verifier.verify(a)).toEqual({ userId: "u1", deviceId: "phone" });
    expect(await verifier.verify(b)).toEqual({ userId: "u1", deviceId: "phone" });
    expect(kidOf(a)).toBe(kidOf(b));
    expect(kidOf(a)).toBe(await thumbprintOf(readFileSync(file, "utf8")));
  });

  it("rotates as PEM through npm run token-keys: a new key first, the previous kept as it was, older ones dropped", async () => {
    const file = join(dir, "secret", "token-signing.pem");
    await tokenKeys("rotate", file);
    const original = readFileSync(file, "utf8");
    expect(original).toMatch(/^-----BEGIN PRIVATE KEY-----\n[\s\S]+\n-----END PRIVATE KEY-----\n$/);
    const oldToken = (await (await createTokenIssuer({ keyPath: "", keySetPath: file, ttlSeconds: 60 })).issue({ userId: "u1", deviceId: "phone" })).token;

    const { stdout } = await tokenKeys("rotate", file);
    const rotated = readFileSync(file, "utf8");
    expect(rotated.endsWith(original)).toBe(true);
    expect(rotated.match(/BEGIN PRIVATE KEY/g)).toHaveLength(2);
    const kids = readSigningKeys(file).keys.map((k) => k.kid);
    expect(kids[1]).toBe(kidOf(oldToken));
    expect(stdout).toBe(`signs     ${kids[0]}\npublished ${kids[1]}\n`);
    expect((await tokenKeys("show", file)).stdout).toBe(stdout);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const after = await createTokenIssuer({ keyPath: "", keySetPath: file, ttlSeconds: 60 });
    const newToken = (await after.issue({ userId: "u1", deviceId: "phone" })).token;
    expect(kidOf(newToken)).toBe(kids[0]);
    await createTokenVerifier({ jwks: after.jwks() }).verify(oldToken);

    await rotateSigningKeys(file);
    expect(readSigningKeys(file).keys.map((k) => k.kid)).toEqual([expect.any(String), kids[0]]);
    expect(readFileSync(file, "utf8")).not.toContain(original);
    const later = createTokenVerifier({ jwks: (await createTokenIssuer({ keyPath: "", keySetPath: file, ttlSeconds: 60 })).jwks() });
    await later.verify(newToken);
    await expect(later.verify(oldToken)).rejects.toThrow(/invalid access token/);
  });

  it("keeps a JSON set JSON when rotating, and makes a new file as a JWKS unless its name ends in .pem", async () => {
    const json = join(dir, "keys");
    await rotateSigningKeys(json);
    expect(JSON.parse(readFileSync(json, "utf8")).keys).toHaveLength(1);
    const pem = join(dir, "keys.pem");
    expect(existsSync(pem)).toBe(false);
    await rotateSigningKeys(pem);
    expect(readFileSync(pem, "utf8")).toMatch(/^-----BEGIN PRIVATE KEY-----/);
  });

  it("refuses RSA, EC, public, encrypted and repeated keys, and anything that is not keys, naming the file and the problem", () => {
    const ed = generateKeyPairSync("ed25519");
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey;
    const good = ed.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const cases: [string, string, RegExp][] = [
      ["ec-sec1.pem", ec.export({ type: "sec1", format: "pem" }).toString(), /PEM block 1 is an EC private key \(SEC1\)/],
      ["ec-pkcs8.pem", ec.export({ type: "pkcs8", format: "pem" }).toString(), /PEM block 1 is an EC key; every key must be Ed25519/],
      ["rsa-pkcs1.pem", rsa.export({ type: "pkcs1", format: "pem" }).toString(), /PEM block 1 is an RSA private key/],
      ["rsa-pkcs8.pem", good + rsa.export({ type: "pkcs8", format: "pem" }).toString(), /PEM block 2 is an RSA key/],
      ["public.pem", ed.publicKey.export({ type: "spki", format: "pem" }).toString(), /PEM block 1 is a public key/],
      ["encrypted.pem", ed.privateKey.export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase: "p" }).toString(), /encrypted private key/],
      ["twice.pem", good + good, /PEM block 2 is the same key as PEM block 1/],
      ["mangled.pem", good.replace(/\n[A-Za-z0-9+/]{8}/, "\n!!!!!!!!"), /PEM block 1 is not a readable private key/],
      ["around.pem", `kid: k1\n${good}`, /text outside its PEM blocks/],
      ["garbage.pem", "not a key at all\n", /neither a JSON key set .* nor PEM private keys/],
      ["empty.pem", "", /neither a JSON key set/],
    ];
    for (const [name, text, problem] of cases) {
      const file = join(dir, name);
      writeFileSync(file, text);
      let error: unknown;
      try {
        readSigningKeys(file);
      } catch (err) {
        error = err;
      }
      expect(error, name).toBeInstanceOf(SigningKeyError);
      expect((error as Error).message.startsWith(`${file}: `), name).toBe(true);
      expect((error as Error).message, name).toMatch(problem);
    }
  });
});

describe("the two-phase rotation (add, roll out, promote, roll out)", () => {
  for (const name of ["keys.json", "keys.pem"]) {
    it(`publishes an added key without signing with it, then signs with it once promoted while the old key still verifies (${name})`, async () => {
      const file = join(dir, name);
      await rotateSigningKeys(file);
      const old = await replica(file);

      const added = await addSigningKey(file);
      const [signer, newKid] = added.keys.map((k) => k.kid);
      expect(added.pending).toBe(newKid);
      const duringAdd = await replica(file);
      expect(kidOf(duringAdd.token)).toBe(kidOf(old.token));
      expect(duringAdd.jwks.keys.map((k) => k.kid)).toEqual([signer, newKid]);
      expect(duringAdd.jwks.keys.every((k) => Object.keys(k).every((m) => ["kty", "crv", "x", "kid", "alg", "use"].includes(m)))).toBe(true);
      expect(readSigningKeys(file)).toEqual(added);

      const promoted = await promoteSigningKey(file);
      expect(promoted).toEqual({ keys: [added.keys[1], added.keys[0]] });
      expect(readSigningKeys(file)).toEqual(promoted);
      const after = await replica(file);
      expect(kidOf(after.token)).toBe(newKid);
      // A verifier that fetched its JWKS from a replica still on the added-only file knows the new kid.
      expect(await createTokenVerifier({ jwks: duringAdd.jwks }).verify(after.token)).toEqual({ userId: "u1", deviceId: "phone" });
      expect(await createTokenVerifier({ jwks: after.jwks }).verify(old.token)).toEqual({ userId: "u1", deviceId: "phone" });
      expect(statSync(file).mode & 0o777).toBe(0o600);
    });
  }

  it("add and promote through npm run token-keys keep a JSON set JSON with its signing key first, and show says which key signs", async () => {
    const file = join(dir, "secret", "keys.json");
    await tokenKeys("rotate", file);
    const [first] = readSigningKeys(file).keys.map((k) => k.kid);

    const { stdout: addOut } = await tokenKeys("add", file);
    const stored = JSON.parse(readFileSync(file, "utf8")) as { keys: { kid: string }[] };
    expect(stored.keys[0]!.kid).toBe(first);
    const added = stored.keys[1]!.kid;
    expect(addOut).toBe(`signs     ${first}\npublished ${added} (added: signs once promoted)\n`);
    expect((await tokenKeys("show", file)).stdout).toBe(addOut);

    const { stdout: promoteOut } = await tokenKeys("promote", file);
    expect(promoteOut).toBe(`signs     ${added}\npublished ${first}\n`);
    expect((await tokenKeys("show", file)).stdout).toBe(promoteOut);
    expect(readFileSync(file, "utf8")).not.toContain("pending");
  });

  it("add and promote through npm run token-keys keep PEM blocks as they were: the added one at the end, then moved first", async () => {
    const file = join(dir, "secret", "token-signing.pem");
    const original = ed25519Pem();
    mkdirSync(dirname(file));
    writeFileSync(file, original);
    const { stdout } = await tokenKeys("add", file);
    const withAdded = readFileSync(file, "utf8");
    expect(withAdded.startsWith(original)).toBe(true);
    expect(withAdded.match(/BEGIN PRIVATE KEY/g)).toHaveLength(2);
    const addedBlock = withAdded.slice(original.length);
    // The mark is explanatory text before the block (RFC 7468), which PEM readers that know nothing of it skip.
    const addedKid = await thumbprintOf(createPrivateKey(addedBlock).export({ type: "pkcs8", format: "pem" }).toString());
    expect(stdout).toBe(`signs     ${await thumbprintOf(original)}\npublished ${addedKid} (added: signs once promoted)\n`);

    await tokenKeys("promote", file);
    const promoted = readFileSync(file, "utf8");
    expect(promoted.endsWith(original)).toBe(true);
    expect(promoted).toMatch(/^-----BEGIN PRIVATE KEY-----\n[\s\S]+\n-----END PRIVATE KEY-----\n-----BEGIN PRIVATE KEY-----\n/);
    expect(addedBlock.endsWith(promoted.slice(0, promoted.length - original.length))).toBe(true);
    expect(readSigningKeys(file).keys.map((k) => k.kid)).toEqual([addedKid, await thumbprintOf(original)]);
  });

  it("refuses to promote when no key was added, to add a second key or rotate while one waits, saying so and leaving the file as it was", async () => {
    for (const name of ["keys.json", "keys.pem"]) {
      const file = join(dir, name);
      await rotateSigningKeys(file);
      await rotateSigningKeys(file);
      const settled = readFileSync(file, "utf8");
      const refusedPromote = await tokenKeysFailing("promote", file);
      expect(refusedPromote.code, name).toBe(1);
      expect(refusedPromote.stderr, name).toMatch(/^token-keys: .*: no added key waits to be promoted .*add one with npm run token-keys -- add/);
      expect(readFileSync(file, "utf8"), name).toBe(settled);

      const { pending } = await addSigningKey(file);
      const withAdded = readFileSync(file, "utf8");
      for (const command of ["add", "rotate"]) {
        const refused = await tokenKeysFailing(command, file);
        expect(refused.code, `${name} ${command}`).toBe(1);
        expect(refused.stderr, `${name} ${command}`).toContain(`${pending} was ${command === "add" ? "already added" : "added"} and waits to be promoted`);
        expect(readFileSync(file, "utf8"), `${name} ${command}`).toBe(withAdded);
      }
    }
    const missing = await tokenKeysFailing("add", join(dir, "none.json"));
    expect(missing).toEqual({ code: 1, stderr: expect.stringMatching(/^token-keys: .*none\.json: ENOENT/) });
  });

  it("promote --keep N keeps the promoted key and the N-1 before it, as rotate does", async () => {
    const file = join(dir, "keys.pem");
    for (let i = 0; i < 3; i++) await rotateSigningKeys(file, 3);
    const settled = readSigningKeys(file).keys.map((k) => k.kid);
    expect(settled).toHaveLength(3);
    const { pending } = await addSigningKey(file);
    expect(readSigningKeys(file).keys).toHaveLength(4);

    const { stdout } = await tokenKeys("promote", file, "--keep", "3");
    expect(readSigningKeys(file).keys.map((k) => k.kid)).toEqual([pending, settled[0], settled[1]]);
    expect(stdout).toBe(`signs     ${pending}\npublished ${settled[0]}\npublished ${settled[1]}\n`);

    await addSigningKey(file);
    await promoteSigningKey(file, 1);
    expect(readSigningKeys(file).keys).toHaveLength(1);
    expect((await tokenKeysFailing("promote", file, "--keep", "0")).stderr).toMatch(/--keep takes a whole number of keys, at least 1/);
  });

  it("refuses a set whose signing key is marked as added, or with two keys marked", async () => {
    const file = join(dir, "keys.json");
    await rotateSigningKeys(file);
    await rotateSigningKeys(file);
    const { keys } = JSON.parse(readFileSync(file, "utf8")) as { keys: object[] };
    writeFileSync(file, JSON.stringify({ keys: [{ ...keys[0], pending: true }, keys[1]] }));
    expect(() => readSigningKeys(file)).toThrow(/the first key signs, yet it is marked as added/);
    writeFileSync(file, JSON.stringify({ keys: [keys[0], { ...keys[1], pending: true }, { ...keys[1], kid: "other", pending: true }] }));
    expect(() => readSigningKeys(file)).toThrow(/2 keys are marked as added and not yet promoted/);
  });
});
