import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** A service's Prometheus registry with the RPC metrics every service exports. */
export interface ServiceMetrics {
  readonly registry: Registry;
  readonly rpcDuration: Histogram<"rpc" | "code">;
  readonly rpcStarted: Counter<"rpc">;
}

/**
 * Creates the registry of one service: process metrics (CPU, memory, event loop lag, with a
 * `service` label) and RPC counts and latencies by method and status code.
 */
export function createServiceMetrics(service: string): ServiceMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    rpcDuration: new Histogram({
      name: "messenger_rpc_duration_seconds",
      help: "Handling time of unary RPCs and lifetime of streams, by method and gRPC status code",
      labelNames: ["rpc", "code"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60, 600],
      registers: [registry],
    }),
    rpcStarted: new Counter({ name: "messenger_rpc_started_total", help: "RPCs started, by method", labelNames: ["rpc"], registers: [registry] }),
  };
}
