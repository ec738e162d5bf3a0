import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from "node:crypto";

function scrypt(password: string, salt: Buffer, keylen: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scryptCb(password, salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key))));
}

const keyLength = 32;

/**
 * Hashes a password with scrypt (memory-hard). The result records its own parameters,
 * `scrypt$<logN>$<r>$<p>$<salt>$<hash>`, so the cost can be raised later without breaking
 * old hashes. logN 17 with r 8 uses 128 MiB per hash (the OWASP recommendation).
 */
export async function hashPassword(password: string, logN: number): Promise<string> {
  const salt = randomBytes(16);
  const r = 8;
  const p = 1;
  const key = await scrypt(password, salt, keyLength, { N: 2 ** logN, r, p, maxmem: 256 * 2 ** logN * r + 1024 * 1024 });
  return ["scrypt", logN, r, p, salt.toString("base64"), key.toString("base64")].join("$");
}

/** Checks a password against a stored hash in constant time. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, logNs, rs, ps, saltB64, hashB64] = stored.split("$");
  if (scheme !== "scrypt" || !logNs || !rs || !ps || !saltB64 || !hashB64) return false;
  const logN = Number(logNs);
  const r = Number(rs);
  const expected = Buffer.from(hashB64, "base64");
  const key = await scrypt(password, Buffer.from(saltB64, "base64"), expected.length, { N: 2 ** logN, r, p: Number(ps), maxmem: 256 * 2 ** logN * r + 1024 * 1024 });
  return timingSafeEqual(key, expected);
}
