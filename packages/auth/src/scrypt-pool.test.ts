import { pbkdf2, randomBytes } from "node:crypto";
import { SignJWT, generateKeyPair, jwtVerify } from "jose";
import { afterEach, describe, expect, it } from "vitest";
import { PasswordHasher } from "./password.js";
import { HashQueueFullError, ScryptPool } from "./scrypt-pool.js";

const cost = (logN: number) => ({ N: 2 ** logN, r: 8, p: 1, maxmem: 256 * 2 ** logN * 8 });

/** What a pool's observer saw. */
function watch() {
  const seen = { done: 0, refused: 0, depth: [0, 0] as [number, number] };
  return {
    seen,
    observer: {
      onDone: () => void seen.done++,
      onRefused: () => void seen.refused++,
      onDepth: (waiting: number, running: number) => void (seen.depth = [waiting, running]),
    },
  };
}

const pools: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

describe("password hashing", () => {
  it("hashes and verifies; a wrong password or a malformed hash does not verify", async () => {
    const hasher = new PasswordHasher({ threads: 1 });
    pools.push(hasher);
    const stored = await hasher.hash("correct horse battery", 10);
    expect(stored).toMatch(/^scrypt\$10\$8\$1\$/);
    expect(await hasher.verify("correct horse battery", stored)).toBe(true);
    expect(await hasher.verify("wrong horse battery", stored)).toBe(false);
    expect(await hasher.verify("correct horse battery", "md5$abc")).toBe(false);
  });
});

describe("the scrypt pool", () => {
  it("runs `threads` hashes, queues `queueLimit` more and refuses the rest at once with a retry delay", async () => {
    const { seen, observer } = watch();
    const pool = new ScryptPool({ threads: 1, queueLimit: 2, observer });
    pools.push(pool);
    const calls = Array.from({ length: 5 }, () => pool.derive("pw", randomBytes(16), 32, cost(14)).then(() => "ok", (e: unknown) => e));
    expect(seen.depth).toEqual([2, 1]);
    expect(seen.refused).toBe(2);
    const outcomes = await Promise.all(calls);
    expect(outcomes.filter((o) => o === "ok")).toHaveLength(3);
    const refused = outcomes.filter((o): o is HashQueueFullError => o instanceof HashQueueFullError);
    expect(refused).toHaveLength(2);
    for (const r of refused) expect(r.retryAfterMs).toBeGreaterThan(0);
    expect(seen).toMatchObject({ done: 3, depth: [0, 0] });
    // Once drained it takes work again.
    await expect(pool.derive("pw", randomBytes(16), 32, cost(10))).resolves.toHaveLength(32);
  });

  it("drops a queued hash whose caller gave up, without computing it", async () => {
    const { seen, observer } = watch();
    const pool = new ScryptPool({ threads: 1, queueLimit: 4, observer });
    pools.push(pool);
    const first = pool.derive("pw", randomBytes(16), 32, cost(14));
    const abort = new AbortController();
    const dropped = pool.derive("pw", randomBytes(16), 32, cost(14), abort.signal).then(
      () => "computed",
      (e: unknown) => e,
    );
    expect(pool.queued).toBe(1);
    abort.abort(new Error("client went away"));
    expect(pool.queued).toBe(0);
    expect(await dropped).toEqual(new Error("client went away"));
    await first;
    expect(seen.done).toBe(1);
  });

  it("rejects what waits and what runs when closed", async () => {
    const pool = new ScryptPool({ threads: 1, queueLimit: 4 });
    const settled = Promise.allSettled([pool.derive("pw", randomBytes(16), 32, cost(15)), pool.derive("pw", randomBytes(16), 32, cost(15))]);
    expect([pool.inProgress, pool.queued]).toEqual([1, 1]);
    await pool.close();
    for (const outcome of await settled) expect(outcome).toMatchObject({ status: "rejected", reason: { message: "the password hashing pool is closed" } });
    await expect(pool.derive("pw", randomBytes(16), 32, cost(10))).rejects.toThrow(/closed/);
  });

  it("leaves libuv's thread pool free: token checks and other pool work finish while every hashing thread is busy", async () => {
    // As many hashing threads as libuv's pool has (4 by default): hashed there, they would
    // occupy every pool thread and the checks below would wait for a hash to finish.
    const { seen, observer } = watch();
    const pool = new ScryptPool({ threads: 4, queueLimit: 4, observer });
    pools.push(pool);
    const { privateKey, publicKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
    const token = await new SignJWT({}).setProtectedHeader({ alg: "EdDSA" }).setSubject("u").sign(privateKey);
    // The four threads started, so the hashes below begin as soon as they are posted.
    await Promise.all(Array.from({ length: 4 }, () => pool.derive("pw", randomBytes(16), 32, cost(10))));
    const warmUp = seen.done;
    const hashes = Array.from({ length: 8 }, () => pool.derive("pw", randomBytes(16), 32, cost(16)));
    expect(seen.depth).toEqual([4, 4]);
    // WebCrypto (jose) and pbkdf2 are libuv pool jobs.
    for (let i = 0; i < 50; i++) {
      await jwtVerify(token, publicKey);
      await new Promise((resolve, reject) => pbkdf2("pw", "salt", 1, 32, "sha256", (err, key) => (err ? reject(err) : resolve(key))));
    }
    expect(seen.done - warmUp).toBe(0);
    await Promise.all(hashes);
    expect(seen.done - warmUp).toBe(8);
  });
});
