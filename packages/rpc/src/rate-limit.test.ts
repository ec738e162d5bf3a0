import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { AccountsService } from "@messenger/proto/accounts/v1/accounts_service";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { startGrpcServer } from "./grpc-server.js";
import { createGrpcJsTransport } from "./grpc-js-transport.js";
import { parseRateLimit, rateLimitCounter, rateLimited, RateLimiter, retryAfterMsOf } from "./rate-limit.js";
import { route } from "./service-routes.js";

describe("rate limits", () => {
  it("parse N/period and off, and refuse anything else", () => {
    expect(parseRateLimit("10/1m")).toEqual({ burst: 10, periodMs: 60_000 });
    expect(parseRateLimit("30/s")).toEqual({ burst: 30, periodMs: 1_000 });
    expect(parseRateLimit("5/15m")).toEqual({ burst: 5, periodMs: 900_000 });
    expect(parseRateLimit("off")).toBeUndefined();
    expect(() => parseRateLimit("10 per minute")).toThrow(/N\/period/);
    expect(() => parseRateLimit("0/1s")).toThrow(/positive/);
  });

  it("let a burst through, then refuse until a token has refilled, per key", () => {
    const registry = new Registry();
    const limiter = new RateLimiter("login", { burst: 3, periodMs: 3_000 }, 100, rateLimitCounter(registry));
    const t0 = 1_000_000;
    for (let i = 0; i < 3; i++) expect(limiter.take("alice", t0)).toEqual({ ok: true });
    expect(limiter.take("alice", t0)).toEqual({ ok: false, retryAfterMs: 1_000 });
    expect(limiter.take("bob", t0)).toEqual({ ok: true });
    expect(limiter.take("alice", t0 + 400)).toEqual({ ok: false, retryAfterMs: 600 });
    expect(limiter.take("alice", t0 + 1_000)).toEqual({ ok: true });
    expect(limiter.take("alice", t0 + 1_000)).toEqual({ ok: false, retryAfterMs: 1_000 });
  });

  it("slow a flood by the time its debt takes to refill, never more than one period", () => {
    const limiter = new RateLimiter("send", { burst: 2, periodMs: 1_000 });
    const t0 = 5_000;
    expect([limiter.delay("d", t0), limiter.delay("d", t0)]).toEqual([0, 0]);
    expect(limiter.delay("d", t0)).toBe(500);
    expect(limiter.delay("d", t0)).toBe(1_000);
    expect(limiter.delay("d", t0)).toBe(1_000);
    expect(limiter.delay("d", t0 + 1_000)).toBe(500);
  });

  it("hold at most maxKeys buckets, dropping the least recently used", () => {
    const limiter = new RateLimiter("x", { burst: 1, periodMs: 60_000 }, 2);
    limiter.take("a", 0);
    limiter.take("b", 0);
    limiter.take("a", 1);
    limiter.take("c", 2);
    expect(limiter.size).toBe(2);
    expect(limiter.take("a", 3).ok).toBe(false);
    expect(limiter.take("b", 3).ok).toBe(true);
  });

  it("answer RESOURCE_EXHAUSTED with a RetryInfo that crosses the native gRPC port to grpc-js and Connect clients", async () => {
    const refuse = (): never => {
      throw rateLimited("logins", 2_500);
    };
    const server = await startGrpcServer({
      host: "127.0.0.1",
      port: 0,
      maxReceiveMessageBytes: 1 << 20,
      routes: [route(AccountsService, { register: refuse, login: refuse, refresh: refuse, lookupUser: refuse, getUsers: refuse, logout: refuse }, "public")],
    });
    const grpcJs = createGrpcJsTransport(`http://127.0.0.1:${server.port}`);
    try {
      for (const transport of [grpcJs, createGrpcTransport({ baseUrl: `http://127.0.0.1:${server.port}` })]) {
        const err = await createClient(AccountsService, transport)
          .login({ username: "alice", password: "x", deviceId: "d" })
          .then(() => undefined, (e: unknown) => ConnectError.from(e));
        expect(err?.code).toBe(Code.ResourceExhausted);
        expect(err?.rawMessage).toBe("too many logins; try again in 3 s");
        expect(retryAfterMsOf(err!)).toBe(2_500);
      }
    } finally {
      grpcJs.close();
      await server.close(100);
    }
  });
});
