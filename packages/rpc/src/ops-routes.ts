import type { Logger } from "@messenger/logging";
import type { ServingState } from "./health.js";
import type { HttpRoute } from "./http-server.js";
import type { ServiceMetrics } from "./metrics.js";

/**
 * The operator's endpoints of a service process: /metrics (Prometheus text format) and
 * /readyz (200 while serving, 503 once a drain began).
 */
export function opsRoutes(metrics: ServiceMetrics, log: Logger, serving: ServingState): Record<"/metrics" | "/readyz", HttpRoute> {
  return {
    "/metrics": (_req, res) => {
      // A collector that throws rejects the whole scrape: answer it, and keep the cause for
      // the operator.
      metrics.registry.metrics().then(
        (text) => {
          res.setHeader("content-type", metrics.registry.contentType);
          res.end(text);
        },
        (err: unknown) => {
          log.error({ err }, "metrics scrape failed");
          res.statusCode = 500;
          res.setHeader("content-type", "text/plain; charset=utf-8");
          res.end("metrics unavailable\n");
        },
      );
    },
    "/readyz": (_req, res) => {
      res.statusCode = serving.serving ? 200 : 503;
      res.end(serving.serving ? "ok\n" : "draining\n");
    },
  };
}
