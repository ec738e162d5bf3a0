import type { Logger } from "@messenger/logging";
import { trustForwardedClientAddress } from "./client-address.js";
import { instrumentRoute } from "./errors.js";
import { startGrpcServer, type GrpcServerHandle } from "./grpc-server.js";
import { ServingState } from "./health.js";
import { startHttpServer, type HttpRoute, type HttpServerHandle } from "./http-server.js";
import type { ServiceMetrics } from "./metrics.js";
import type { ServiceRoute } from "./service-routes.js";

/** Where and what one service process serves. */
export interface ServiceHostOptions {
  readonly host: string;
  /** Public routes over native gRPC; unused when the service has none. */
  readonly grpcPort: number;
  /** Internal routes over native gRPC; never exposed through the ingress. */
  readonly internalGrpcPort: number;
  /** Public routes over Connect/gRPC-Web, plus /metrics and /readyz. */
  readonly httpPort: number;
  readonly routes: readonly ServiceRoute[];
  readonly log: Logger;
  readonly metrics: ServiceMetrics;
  readonly maxReceiveMessageBytes: number;
  readonly extraHttpRoutes?: Record<string, HttpRoute>;
}

/** A running service process's listeners. */
export interface ServiceHost {
  /** 0 when not listening. */
  readonly grpcPort: number;
  readonly internalGrpcPort: number;
  readonly httpPort: number;
  /** Reports NOT_SERVING on health and /readyz (first step of a drain). */
  setServing(serving: boolean): void;
  close(graceMs: number): Promise<void>;
}

/**
 * Serves one service: its public routes on the gRPC and HTTP ports, its internal routes on
 * the internal gRPC port, each with grpc.health.v1 and reflection; /metrics and /readyz on
 * the HTTP port. Every route is instrumented (errors, metrics, request ids).
 */
export async function hostService(opts: ServiceHostOptions): Promise<ServiceHost> {
  const routes = opts.routes.map((r) => instrumentRoute(r, opts.log, opts.metrics));
  const publicRoutes = routes.filter((r) => r.visibility === "public");
  // The internal port serves every route of the service, so peers need one address each.
  // Peers only reach it, so a gateway's word for its client's address is taken there.
  const internalRoutes = routes.map(trustForwardedClientAddress);
  // One state behind health on every listener and /readyz.
  const serving = new ServingState();
  const grpc: GrpcServerHandle | undefined = publicRoutes.length
    ? await startGrpcServer({ host: opts.host, port: opts.grpcPort, routes: publicRoutes, maxReceiveMessageBytes: opts.maxReceiveMessageBytes, serving })
    : undefined;
  const internal: GrpcServerHandle | undefined = internalRoutes.length
    ? await startGrpcServer({ host: opts.host, port: opts.internalGrpcPort, routes: internalRoutes, maxReceiveMessageBytes: opts.maxReceiveMessageBytes, serving })
    : undefined;
  const http: HttpServerHandle = await startHttpServer({
    host: opts.host,
    port: opts.httpPort,
    routes: publicRoutes,
    maxReceiveMessageBytes: opts.maxReceiveMessageBytes,
    serving,
    extraRoutes: {
      "/metrics": (_req, res) => {
        // A collector that throws rejects the whole scrape: answer it, and keep the cause for
        // the operator.
        opts.metrics.registry.metrics().then(
          (text) => {
            res.setHeader("content-type", opts.metrics.registry.contentType);
            res.end(text);
          },
          (err: unknown) => {
            opts.log.error({ err }, "metrics scrape failed");
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
      ...opts.extraHttpRoutes,
    },
  });
  return {
    grpcPort: grpc?.port ?? 0,
    internalGrpcPort: internal?.port ?? 0,
    httpPort: http.port,
    setServing(value) {
      serving.set(value);
    },
    async close(graceMs) {
      await Promise.all([grpc?.close(graceMs), internal?.close(graceMs), http.close()]);
    },
  };
}
