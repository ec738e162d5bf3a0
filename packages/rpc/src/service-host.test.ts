import http2 from "node:http2";
import { createLogger, type Logger } from "@messenger/logging";
import { PushConfigService } from "@messenger/proto/push/v1/push_config_service";
import { Gauge } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServiceMetrics } from "./metrics.js";
import { hostService, type ServiceHost } from "./service-host.js";
import { route } from "./service-routes.js";

describe("the /metrics route of a hosted service", () => {
  const metrics = createServiceMetrics("t");
  const logged: { obj: unknown; msg: string | undefined }[] = [];
  const log: Logger = createLogger("service-host-test", "silent");
  // Records what the route logs as an error; the rest stays silent.
  log.error = ((obj: unknown, msg?: string) => void logged.push({ obj, msg })) as Logger["error"];
  let broken = false;
  new Gauge({
    name: "t_flaky_collector",
    help: "A gauge whose collection fails while `broken` is set.",
    registers: [metrics.registry],
    collect() {
      if (broken) throw new Error("collector broke");
      this.set(1);
    },
  });
  let host: ServiceHost;

  beforeAll(async () => {
    host = await hostService({ host: "127.0.0.1", grpcPort: 0, internalGrpcPort: 0, httpPort: 0, routes: [], log, metrics, maxReceiveMessageBytes: 1 << 20 });
  });
  afterAll(async () => {
    await host.close(100);
  });

  const scrape = () => fetch(`http://127.0.0.1:${host.httpPort}/metrics`);

  it("serves the registry in the Prometheus text format", async () => {
    broken = false;
    const res = await scrape();
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe(metrics.registry.contentType);
    expect(await res.text()).toContain('t_flaky_collector{service="t"} 1');
  });

  it("answers 500 with a short text when a collector fails, and logs the cause", async () => {
    broken = true;
    const res = await scrape();
    expect(res.status).toBe(500);
    expect(await res.text()).toBe("metrics unavailable\n");
    expect(logged).toHaveLength(1);
    expect(logged[0]?.msg).toBe("metrics scrape failed");
    expect((logged[0]?.obj as { err?: Error }).err?.message).toBe("collector broke");
  });
});

describe("a separate metrics port", () => {
  const log: Logger = createLogger("service-host-test", "silent");

  it("serves /metrics and /readyz on a listener of its own, and no longer on the HTTP port", async () => {
    const metrics = createServiceMetrics("m");
    const host = await hostService({ host: "127.0.0.1", grpcPort: 0, internalGrpcPort: 0, httpPort: 0, metricsPort: 0, routes: [], log, metrics, maxReceiveMessageBytes: 1 << 20 });
    try {
      expect(host.metricsPort).not.toBe(host.httpPort);
      const scrape = await fetch(`http://127.0.0.1:${host.metricsPort}/metrics`);
      expect(scrape.status).toBe(200);
      expect(scrape.headers.get("content-type")).toBe(metrics.registry.contentType);
      expect(await scrape.text()).toContain('process_cpu_user_seconds_total{service="m"}');
      expect((await fetch(`http://127.0.0.1:${host.metricsPort}/readyz`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${host.metricsPort}/nothing`)).status).toBe(404);
      // The public port answers neither.
      for (const path of ["/metrics", "/readyz"]) {
        const res = await fetch(`http://127.0.0.1:${host.httpPort}${path}`);
        expect(res.status).toBe(404);
        expect(await res.text()).not.toContain("process_cpu_user_seconds_total");
      }
      host.setServing(false);
      const draining = await fetch(`http://127.0.0.1:${host.metricsPort}/readyz`);
      expect(draining.status).toBe(503);
      expect(await draining.text()).toBe("draining\n");
    } finally {
      await host.close(100);
    }
    // Closed with the rest.
    await expect(fetch(`http://127.0.0.1:${host.metricsPort}/readyz`)).rejects.toThrow();
  });

  it("is the HTTP port when none is set", async () => {
    const host = await hostService({ host: "127.0.0.1", grpcPort: 0, internalGrpcPort: 0, httpPort: 0, routes: [], log, metrics: createServiceMetrics("m"), maxReceiveMessageBytes: 1 << 20 });
    try {
      expect(host.metricsPort).toBe(host.httpPort);
      expect((await fetch(`http://127.0.0.1:${host.httpPort}/metrics`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${host.httpPort}/readyz`)).status).toBe(200);
    } finally {
      await host.close(100);
    }
  });
});

describe("connection recycling", () => {
  const log: Logger = createLogger("service-host-test", "silent");
  const ageMs = 200;
  const path = `/${PushConfigService.typeName}/${PushConfigService.method.getWebPushConfig.name}`;
  // A handler that holds each call until the test lets it go.
  let entered: () => void = () => undefined;
  let release: Promise<void> = Promise.resolve();
  const held = route(
    PushConfigService,
    {
      async getWebPushConfig() {
        entered();
        await release;
        return { vapidPublicKey: "k" };
      },
    },
    "public",
  );
  let host: ServiceHost;
  const sessions: http2.ClientHttp2Session[] = [];
  beforeAll(async () => {
    host = await hostService({
      host: "127.0.0.1",
      grpcPort: 0,
      internalGrpcPort: 0,
      httpPort: 0,
      routes: [held],
      log,
      metrics: createServiceMetrics("r"),
      maxReceiveMessageBytes: 1 << 20,
      internalMaxConnectionAgeMs: ageMs,
      internalMaxConnectionAgeGraceMs: 5_000,
    });
  });
  afterAll(async () => {
    for (const s of sessions) s.destroy();
    await host.close(100);
  });

  /** An HTTP/2 connection and the promise of the GOAWAY the server may send on it. */
  function connect(port: number): { session: http2.ClientHttp2Session; goaway: Promise<void>; goneAway: () => boolean } {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    sessions.push(session);
    let gone = false;
    const goaway = new Promise<void>((resolve) =>
      session.once("goaway", () => {
        gone = true;
        resolve();
      }),
    );
    session.on("error", () => undefined);
    return { session, goaway, goneAway: () => gone };
  }

  /** One unary gRPC call with an empty request, by hand; resolves with its grpc-status. */
  function call(session: http2.ClientHttp2Session): Promise<string | undefined> {
    return new Promise((resolve, reject) => {
      const stream = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers" });
      let status: string | undefined;
      stream.on("trailers", (t) => (status = String(t["grpc-status"])));
      stream.on("data", () => undefined);
      stream.on("end", () => resolve(status));
      stream.on("error", reject);
      // A message frame: not compressed, 0 bytes long.
      stream.end(Buffer.alloc(5));
    });
  }

  const within = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
    Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms).unref())]);

  it("recycles peers' connections to the internal port, never clients' on the public port", async () => {
    const publicConn = connect(host.grpcPort);
    const internalConn = connect(host.internalGrpcPort);
    await within(internalConn.goaway, 5_000, "GOAWAY on the internal port");
    // The public connection is older than the recycled one; had it an age, it would have
    // reached it (± 10 %) well before this.
    await new Promise((r) => setTimeout(r, 2 * ageMs));
    expect(publicConn.goneAway()).toBe(false);
    expect(await call(publicConn.session)).toBe("0");
  });

  it("lets a call that runs when its connection is recycled finish", async () => {
    let letGo: () => void = () => undefined;
    release = new Promise<void>((r) => (letGo = r));
    const running = new Promise<void>((r) => (entered = r));
    const conn = connect(host.internalGrpcPort);
    const result = call(conn.session);
    await within(running, 5_000, "call in the handler");
    await within(conn.goaway, 5_000, "GOAWAY on the internal port");
    // The call outlives the GOAWAY by more than an age: only the grace period keeps it.
    await new Promise((r) => setTimeout(r, 2 * ageMs));
    letGo();
    expect(await within(result, 5_000, "end of the call")).toBe("0");
  });
});
