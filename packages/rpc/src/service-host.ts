import type { Logger } from "@messenger/logging";
import { trustForwardedClientAddress } from "./client-address.js";
import { instrumentRoute } from "./errors.js";
import { startGrpcServer, type GrpcServerHandle } from "./grpc-server.js";
import { ServingState } from "./health.js";
import { startHttpServer, type HttpRoute, type HttpServerHandle } from "./http-server.js";
import type { ServiceMetrics } from "./metrics.js";
import { opsRoutes } from "./ops-routes.js";
import { startOpsServer } from "./ops-server.js";
import type { ServiceRoute } from "./service-routes.js";

/** Where and what one service process serves. */
export interface ServiceHostOptions {
  readonly host: string;
  /** Public routes over native gRPC; unused when the service has none. */
  readonly grpcPort: number;
  /** Internal routes over native gRPC; never exposed through the ingress. */
  readonly internalGrpcPort: number;
  /** Public routes over Connect/gRPC-Web, plus /metrics and /readyz unless metricsPort is set. */
  readonly httpPort: number;
  /**
   * When set, /metrics and /readyz are served on a listener of their own at this port
   * (0 picks a free one) and no longer on the HTTP port, which can then face the internet.
   */
  readonly metricsPort?: number | undefined;
  /**
   * Age at which the internal port's connections are recycled (GOAWAY), so that peers
   * re-resolve this service's name and spread over its replicas; 0 keeps them for good.
   * The public ports never recycle: they hold clients' long streams.
   */
  readonly internalMaxConnectionAgeMs?: number;
  /** How long calls running on a recycled connection may go on. */
  readonly internalMaxConnectionAgeGraceMs?: number;
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
  /** Where /metrics and /readyz are served: the HTTP port unless a metrics port was asked for. */
  readonly metricsPort: number;
  /** Reports NOT_SERVING on health and /readyz (first step of a drain). */
  setServing(serving: boolean): void;
  close(graceMs: number): Promise<void>;
}

/**
 * Serves one service: its public routes on the gRPC and HTTP ports, its internal routes on
 * the internal gRPC port, each with grpc.health.v1 and reflection; /metrics and /readyz on
 * the metrics port if one is set, else on the HTTP port. Every route is instrumented
 * (errors, metrics, request ids).
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
    ? await startGrpcServer({
        host: opts.host,
        port: opts.internalGrpcPort,
        routes: internalRoutes,
        maxReceiveMessageBytes: opts.maxReceiveMessageBytes,
        serving,
        maxConnectionAgeMs: opts.internalMaxConnectionAgeMs,
        maxConnectionAgeGraceMs: opts.internalMaxConnectionAgeGraceMs,
      })
    : undefined;
  const ops = opsRoutes(opts.metrics, opts.log, serving);
  const separateOps: HttpServerHandle | undefined = opts.metricsPort !== undefined ? await startOpsServer({ host: opts.host, port: opts.metricsPort, routes: ops }) : undefined;
  const http: HttpServerHandle = await startHttpServer({
    host: opts.host,
    port: opts.httpPort,
    routes: publicRoutes,
    maxReceiveMessageBytes: opts.maxReceiveMessageBytes,
    serving,
    extraRoutes: {
      ...(separateOps ? {} : ops),
      ...opts.extraHttpRoutes,
    },
  });
  return {
    grpcPort: grpc?.port ?? 0,
    internalGrpcPort: internal?.port ?? 0,
    httpPort: http.port,
    metricsPort: separateOps?.port ?? http.port,
    setServing(value) {
      serving.set(value);
    },
    async close(graceMs) {
      await Promise.all([grpc?.close(graceMs), internal?.close(graceMs), http.close(), separateOps?.close()]);
    },
  };
}
