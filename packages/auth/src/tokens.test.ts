import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { SignJWT, base64url, exportJWK, generateKeyPair, importJWK, type JWK, type JWTPayload } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTokenIssuer, createTokenVerifier, type TokenIssuer, type TokenVerifier } from "./tokens.js";

/** The issuer's key as it sits on disk, and a verifier over its published JWKS. */
interface Fixture {
  readonly issuer: TokenIssuer;
  readonly verifier: TokenVerifier;
  readonly privateJwk: JWK;
  readonly kid: string;
}

let dir: string;
let fx: Fixture;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "tokens-test-"));
  const keyPath = join(dir, "signing.jwk");
  const issuer = await createTokenIssuer({ keyPath, ttlSeconds: 300 });
  const privateJwk = (JSON.parse(readFileSync(keyPath, "utf8")) as { keys: JWK[] }).keys[0]!;
  fx = { issuer, verifier: createTokenVerifier({ jwks: issuer.jwks() }), privateJwk, kid: privateJwk.kid! };
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const now = () => Math.floor(Date.now() / 1000);

/** Claims exactly like the issuer's, so each bad token differs from a good one in one way. */
function claims(overrides: JWTPayload = {}): JWTPayload {
  return { sub: "alice", did: "phone", iss: "messenger", aud: "messenger", iat: now(), exp: now() + 300, ...overrides };
}

/** Signs with the issuer's own private key (EdDSA), under its kid unless told otherwise. */
async function signed(payload: JWTPayload, header: { kid?: string } = {}): Promise<string> {
  const key = await importJWK(fx.privateJwk, "EdDSA");
  return new SignJWT(payload).setProtectedHeader({ alg: "EdDSA", kid: header.kid ?? fx.kid }).sign(key);
}

/** A JWS assembled by hand, for headers no honest library would write. */
function compact(header: object, payload: object, signature: string): string {
  const part = (o: object) => base64url.encode(JSON.stringify(o));
  return `${part(header)}.${part(payload)}.${signature}`;
}

/** Asserts the verifier refuses the token with UNAUTHENTICATED and the given message. */
async function refused(token: string, message: RegExp | string): Promise<void> {
  const err = await fx.verifier.verify(token).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, "the token was accepted").toBeInstanceOf(ConnectError);
  expect((err as ConnectError).code).toBe(Code.Unauthenticated);
  expect((err as ConnectError).rawMessage).toMatch(message);
}

describe("access token checks", () => {
  it("accepts a token the issuer signed, giving the user and device it speaks for", async () => {
    const { token } = await fx.issuer.issue({ userId: "alice", deviceId: "phone" });
    await expect(fx.verifier.verify(token)).resolves.toEqual({ userId: "alice", deviceId: "phone" });
    // A token built here with the same claims is accepted too: the refusals below differ from it in one way each.
    await expect(fx.verifier.verify(await signed(claims()))).resolves.toEqual({ userId: "alice", deviceId: "phone" });
  });

  it("refuses a missing token", async () => {
    await refused("", "missing access token");
  });

  it("refuses an unsigned token (alg none), even under the issuer's kid", async () => {
    await refused(compact({ alg: "none", kid: fx.kid, typ: "JWT" }, claims(), ""), "invalid access token");
  });

  it("refuses HS256 signed with the issuer's public key as the secret (algorithm confusion)", async () => {
    const { d: _secret, ...publicJwk } = fx.privateJwk;
    const secrets = [base64url.decode(publicJwk.x!), new TextEncoder().encode(JSON.stringify(publicJwk)), new TextEncoder().encode(JSON.stringify(fx.issuer.jwks()))];
    for (const secret of secrets) {
      const token = await new SignJWT(claims()).setProtectedHeader({ alg: "HS256", kid: fx.kid }).sign(secret);
      await refused(token, "invalid access token");
    }
  });

  it("refuses a token signed with an algorithm the key set holds no key for (ES256 under the issuer's kid)", async () => {
    const { privateKey } = await generateKeyPair("ES256");
    await refused(await new SignJWT(claims()).setProtectedHeader({ alg: "ES256", kid: fx.kid }).sign(privateKey), "invalid access token");
  });

  it("refuses a token signed by another Ed25519 key, under an unknown kid or under the issuer's kid", async () => {
    const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
    const other = { ...(await exportJWK(privateKey)), kid: "someone-else" };
    const key = await importJWK(other, "EdDSA");
    await refused(await new SignJWT(claims()).setProtectedHeader({ alg: "EdDSA", kid: "someone-else" }).sign(key), "invalid access token");
    await refused(await new SignJWT(claims()).setProtectedHeader({ alg: "EdDSA", kid: fx.kid }).sign(key), "invalid access token");
  });

  it("refuses the issuer's own signature under a kid its key set does not publish", async () => {
    await refused(await signed(claims(), { kid: "rotated-away" }), "invalid access token");
  });

  it("refuses a wrong or missing issuer", async () => {
    await refused(await signed(claims({ iss: "someone-else" })), "invalid access token");
    await refused(await signed(claims({ iss: undefined })), "invalid access token");
  });

  it("refuses a wrong or missing audience", async () => {
    await refused(await signed(claims({ aud: "another-service" })), "invalid access token");
    await refused(await signed(claims({ aud: undefined })), "invalid access token");
  });

  it("honours a configured issuer and audience instead of the defaults", async () => {
    const custom = createTokenVerifier({ jwks: fx.issuer.jwks() }, { issuer: "https://idp.example", audience: "chat" });
    await expect(custom.verify(await signed(claims({ iss: "https://idp.example", aud: "chat" })))).resolves.toEqual({ userId: "alice", deviceId: "phone" });
    await expect(custom.verify(await signed(claims()))).rejects.toMatchObject({ code: Code.Unauthenticated });
  });

  it("refuses an expired token, saying it expired", async () => {
    await refused(await signed(claims({ iat: now() - 600, exp: now() - 1 })), "access token expired");
  });

  it("refuses a token not valid yet (nbf in the future)", async () => {
    await refused(await signed(claims({ nbf: now() + 600 })), "invalid access token");
  });

  it("refuses a token whose payload was changed after signing", async () => {
    const token = await signed(claims());
    const [header, , signature] = token.split(".");
    const tampered = `${header}.${base64url.encode(JSON.stringify(claims({ sub: "mallory" })))}.${signature}`;
    await refused(tampered, "invalid access token");
  });

  it("refuses a well-signed token that says no user or no device", async () => {
    await refused(await signed(claims({ sub: undefined })), "access token lacks sub or did");
    await refused(await signed(claims({ did: undefined })), "access token lacks sub or did");
    await refused(await signed(claims({ did: 42 })), "access token lacks sub or did");
  });

  it("refuses a refresh token presented as an access token (refresh tokens are opaque, not JWTs)", async () => {
    await refused(base64url.encode(new Uint8Array(32).fill(7)), "invalid access token");
  });
});
