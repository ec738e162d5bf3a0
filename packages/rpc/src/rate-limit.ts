import { create } from "@bufbuild/protobuf";
import { DurationSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { z } from "@messenger/config";
import { RetryInfoSchema } from "@messenger/proto/google/rpc/error_details";
import { Counter, type Registry } from "prom-client";

/** A limit: a burst of `burst` events, refilled at `burst` per `periodMs`. */
export interface RateLimit {
  readonly burst: number;
  readonly periodMs: number;
}

const units: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/**
 * Parses `N/period`, e.g. `10/1m` (ten at once, then one every six seconds), `30/1s`,
 * `5/15m`; `off` turns the limit off. The form of every limit in the environment.
 */
export function parseRateLimit(text: string): RateLimit | undefined {
  if (text.trim() === "off") return undefined;
  const m = /^\s*(\d+)\s*\/\s*(\d+)?\s*(ms|s|m|h)\s*$/.exec(text);
  if (!m) throw new Error(`"${text}" is not a rate limit: expected N/period (e.g. 10/1m, 30/1s) or off`);
  const burst = Number(m[1]);
  const periodMs = Number(m[2] ?? "1") * units[m[3]!]!;
  if (burst < 1 || periodMs < 1) throw new Error(`"${text}": the count and the period must be positive`);
  return { burst, periodMs };
}

/** A zod field for a rate limit variable, with its default in the same `N/period` form. */
export const rateLimitEnv = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      try {
        return parseRateLimit(text);
      } catch (err) {
        ctx.addIssue({ code: "custom", message: err instanceof Error ? err.message : String(err) });
        return z.NEVER;
      }
    });

interface Bucket {
  tokens: number;
  at: number;
}

/** What `take` decided: go now, or wait this long before trying again. */
export type Admission = { readonly ok: true } | { readonly ok: false; readonly retryAfterMs: number };

const admitted: Admission = { ok: true };

/**
 * Token buckets by key (a username, an address, a device). Memory is bounded: past
 * `maxKeys`, the least recently used buckets are dropped. A dropped bucket that had refilled
 * loses nothing; one that had not forgets its debt, which errs towards letting a caller in
 * rather than towards growing without bound.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly refillPerMs: number;

  constructor(
    readonly name: string,
    readonly limit: RateLimit,
    private readonly maxKeys = 100_000,
    private readonly counter?: Counter<"limit">,
  ) {
    this.refillPerMs = limit.burst / limit.periodMs;
  }

  /** Takes `cost` tokens from `key`'s bucket when it has them. */
  take(key: string, now = Date.now(), cost = 1): Admission {
    const b = this.bucket(key, now);
    if (b.tokens >= cost) {
      b.tokens -= cost;
      return admitted;
    }
    this.counter?.inc({ limit: this.name });
    return { ok: false, retryAfterMs: Math.ceil((cost - b.tokens) / this.refillPerMs) };
  }

  /**
   * Takes `cost` tokens whether or not they are there and says how long the caller should
   * wait before acting: 0 within the burst, then the time the debt takes to refill. This is
   * how a flood is slowed rather than cut; the debt is bounded by one period so a long
   * flood is not owed forever.
   */
  delay(key: string, now = Date.now(), cost = 1): number {
    const b = this.bucket(key, now);
    b.tokens = Math.max(b.tokens - cost, -this.limit.burst);
    if (b.tokens >= 0) return 0;
    this.counter?.inc({ limit: this.name });
    return Math.ceil(-b.tokens / this.refillPerMs);
  }

  /** Buckets held now (for tests and metrics). */
  get size(): number {
    return this.buckets.size;
  }

  private bucket(key: string, now: number): Bucket {
    let b = this.buckets.get(key);
    if (b) {
      b.tokens = Math.min(this.limit.burst, b.tokens + (now - b.at) * this.refillPerMs);
      b.at = now;
      // Re-inserting keeps the map in least-recently-used order for eviction.
      this.buckets.delete(key);
    } else {
      b = { tokens: this.limit.burst, at: now };
      if (this.buckets.size >= this.maxKeys) this.buckets.delete(this.buckets.keys().next().value!);
    }
    this.buckets.set(key, b);
    return b;
  }
}

/** The counter of refusals and delays by limit, one per service registry. */
export function rateLimitCounter(registry: Registry): Counter<"limit"> {
  const name = "messenger_rate_limited_total";
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter<"limit">;
  return new Counter({ name, help: "Calls refused or slowed by a rate limit, by limit", labelNames: ["limit"], registers: [registry] });
}

/**
 * The one error a rate limit answers with: RESOURCE_EXHAUSTED, a message saying what and
 * when, and a google.rpc.RetryInfo detail that gRPC and Connect clients read.
 */
export function rateLimited(what: string, retryAfterMs: number): ConnectError {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  const retryDelay = create(DurationSchema, { seconds: BigInt(Math.floor(retryAfterMs / 1000)), nanos: (retryAfterMs % 1000) * 1_000_000 });
  return new ConnectError(`too many ${what}; try again in ${seconds} s`, Code.ResourceExhausted, undefined, [{ desc: RetryInfoSchema, value: { retryDelay } }]);
}

/** The retry delay a ConnectError carries in a RetryInfo detail, in milliseconds. */
export function retryAfterMsOf(err: ConnectError): number | undefined {
  const info = err.findDetails(RetryInfoSchema)[0];
  if (!info?.retryDelay) return undefined;
  return Number(info.retryDelay.seconds) * 1000 + Math.floor(info.retryDelay.nanos / 1_000_000);
}

/** A limiter named `name` (its `limit` label) counted in `registry`; undefined when the limit is off. */
export function createRateLimiter(name: string, limit: RateLimit | undefined, registry?: Registry, maxKeys?: number): RateLimiter | undefined {
  return limit ? new RateLimiter(name, limit, maxKeys, registry ? rateLimitCounter(registry) : undefined) : undefined;
}

/**
 * Takes a token from `key`'s bucket or throws `rateLimited(what, …)`, the refusal every
 * limit answers with. Does nothing when the limit is off (no limiter).
 */
export function enforceRateLimit(limiter: RateLimiter | undefined, key: string, what: string, now = Date.now()): void {
  if (!limiter) return;
  const admission = limiter.take(key, now);
  if (!admission.ok) throw rateLimited(what, admission.retryAfterMs);
}
