import { availableParallelism } from "node:os";
import { randomBytes, timingSafeEqual } from "node:crypto";
import { ScryptPool, type ScryptPoolObserver } from "./scrypt-pool.js";

const keyLength = 32;

/** How many hashes run at once by default: every core but one, which stays with the event loop. */
export const defaultHashThreads = Math.max(1, availableParallelism() - 1);
/** How many hashes may wait for a thread by default. */
export const defaultHashQueueLimit = 16;

/** Sizes of the hashing pool. */
export interface PasswordHasherOptions {
  /** @default defaultHashThreads */
  readonly threads?: number;
  /** @default defaultHashQueueLimit */
  readonly queueLimit?: number;
  readonly observer?: ScryptPoolObserver;
}

/**
 * Hashes and checks passwords with scrypt (memory-hard) on a bounded pool of threads: past
 * the pool's queue a call is refused with HashQueueFullError. A hash records its own
 * parameters, `scrypt$<logN>$<r>$<p>$<salt>$<hash>`, so the cost can be raised later
 * without breaking old hashes. logN 17 with r 8 uses 128 MiB per hash (the OWASP
 * recommendation).
 */
export class PasswordHasher {
  private readonly pool: ScryptPool;

  constructor(opts: PasswordHasherOptions = {}) {
    this.pool = new ScryptPool({ threads: opts.threads ?? defaultHashThreads, queueLimit: opts.queueLimit ?? defaultHashQueueLimit, ...(opts.observer ? { observer: opts.observer } : {}) });
  }

  /** Hashes waiting for a thread now. */
  get queued(): number {
    return this.pool.queued;
  }

  /** Hashes being computed now. */
  get inProgress(): number {
    return this.pool.inProgress;
  }

  /** A new salted hash of `password` at cost 2^logN. */
  async hash(password: string, logN: number, signal?: AbortSignal): Promise<string> {
    const salt = randomBytes(16);
    const r = 8;
    const p = 1;
    const key = await this.pool.derive(password, salt, keyLength, scryptOptions(logN, r, p), signal);
    return ["scrypt", logN, r, p, salt.toString("base64"), key.toString("base64")].join("$");
  }

  /** Checks a password against a stored hash in constant time; false for a malformed hash. */
  async verify(password: string, stored: string, signal?: AbortSignal): Promise<boolean> {
    const [scheme, logNs, rs, ps, saltB64, hashB64] = stored.split("$");
    if (scheme !== "scrypt" || !logNs || !rs || !ps || !saltB64 || !hashB64) return false;
    const expected = Buffer.from(hashB64, "base64");
    const key = await this.pool.derive(password, Buffer.from(saltB64, "base64"), expected.length, scryptOptions(Number(logNs), Number(rs), Number(ps)), signal);
    return timingSafeEqual(key, expected);
  }

  /** Stops the hashing threads; calls still waiting are rejected. */
  close(): Promise<void> {
    return this.pool.close();
  }
}

function scryptOptions(logN: number, r: number, p: number): { N: number; r: number; p: number; maxmem: number } {
  return { N: 2 ** logN, r, p, maxmem: 256 * 2 ** logN * r + 1024 * 1024 };
}
