import { createLogger, type Logger } from "@messenger/logging";
import { Gauge } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServiceMetrics } from "./metrics.js";
import { hostService, type ServiceHost } from "./service-host.js";

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
