import type { HttpRoute } from "./http-server.js";
import type { Transport } from "@connectrpc/connect";
import { ConfigError } from "@messenger/config";
import { createLogger, dropLogOutput, exitOnUnhandled, type Logger } from "@messenger/logging";
import { createGrpcJsTransport } from "./grpc-js-transport.js";
import { createServiceMetrics, type ServiceMetrics } from "./metrics.js";
import { hostService, type ServiceHost } from "./service-host.js";
import type { ServiceRoute } from "./service-routes.js";

/** What a service's composition root hands to runService. */
export interface BuiltService {
  readonly routes: readonly ServiceRoute[];
  readonly extraHttpRoutes?: Record<string, HttpRoute>;
  /** Runs once the listeners listen, with their ports (a port of 0 in the config is known only then). */
  started?(ports: { readonly grpcPort: number; readonly internalGrpcPort: number; readonly httpPort: number; readonly metricsPort: number }): void;
  /** Runs first on SIGTERM, while the listeners still serve (a gateway drains here). */
  drain?(graceMs: number): Promise<void>;
  /** Releases adapters after the listeners closed. */
  close(): Promise<void>;
}

/** Common settings every service process reads. */
export interface HostSettings {
  readonly HOST: string;
  readonly GRPC_PORT: number;
  readonly INTERNAL_GRPC_PORT: number;
  readonly HTTP_PORT: number;
  /** Unset: /metrics and /readyz are served on HTTP_PORT. */
  readonly METRICS_PORT?: number | undefined;
  /** 0: peers' connections to the internal port are never recycled. */
  readonly INTERNAL_MAX_CONNECTION_AGE_MS: number;
  readonly INTERNAL_MAX_CONNECTION_AGE_GRACE_MS: number;
  readonly MAX_FRAME_BYTES: number;
  readonly SHUTDOWN_GRACE_MS: number;
  readonly LOG_LEVEL: string;
}

/**
 * Set to "1" by a launcher that keeps a pipe to the service's stdin: the service stops as on
 * SIGTERM when that pipe closes, which happens when the launcher dies, even by SIGKILL (a
 * local cluster's services run in process groups of their own and would otherwise outlive it).
 */
const exitWithParentEnv = "MESSENGER_EXIT_WITH_PARENT";

function stopWhenStdinEnds(stop: () => void): void {
  process.stdin.on("data", () => undefined);
  process.stdin.once("end", stop);
  process.stdin.once("error", stop);
}

/**
 * A gRPC (HTTP/2, @grpc/grpc-js) transport to a peer service with a deadline on every call,
 * balanced round-robin over every address the URL's host resolves to (every ready pod
 * behind a headless Service), following the peer's replicas as they come and go.
 */
export function peerTransport(baseUrl: string, timeoutMs = 10_000): Transport {
  return createGrpcJsTransport(baseUrl, { defaultTimeoutMs: timeoutMs });
}

/**
 * The main of every service process: parse the config (all problems at once, then exit 1),
 * build the service, serve it, log one "listening" line with its ports, and on SIGTERM or
 * SIGINT report not-ready, drain, close the listeners and the adapters, and exit 0.
 */
export async function runService<C extends HostSettings>(
  name: string,
  loadConfig: () => C,
  build: (config: C, deps: { log: Logger; metrics: ServiceMetrics }) => Promise<BuiltService>,
): Promise<void> {
  let config: C;
  try {
    config = loadConfig();
  } catch (err) {
    process.stderr.write(`${name}: ${err instanceof ConfigError ? err.message : String(err)}\n`);
    process.exit(1);
  }
  const log = createLogger(name, config.LOG_LEVEL);
  exitOnUnhandled(log);
  try {
    const metrics = createServiceMetrics(name);
    const service = await build(config, { log, metrics });
    const host: ServiceHost = await hostService({
      host: config.HOST,
      grpcPort: config.GRPC_PORT,
      internalGrpcPort: config.INTERNAL_GRPC_PORT,
      httpPort: config.HTTP_PORT,
      metricsPort: config.METRICS_PORT,
      internalMaxConnectionAgeMs: config.INTERNAL_MAX_CONNECTION_AGE_MS,
      internalMaxConnectionAgeGraceMs: config.INTERNAL_MAX_CONNECTION_AGE_GRACE_MS,
      routes: service.routes,
      log,
      metrics,
      maxReceiveMessageBytes: config.MAX_FRAME_BYTES,
      ...(service.extraHttpRoutes ? { extraHttpRoutes: service.extraHttpRoutes } : {}),
    });
    service.started?.({ grpcPort: host.grpcPort, internalGrpcPort: host.internalGrpcPort, httpPort: host.httpPort, metricsPort: host.metricsPort });
    // Printed whatever the log level: launchers and operators read the ports from this line.
    const listening = { level: 30, time: new Date().toISOString(), service: name, msg: "listening", host: config.HOST, grpcPort: host.grpcPort, internalGrpcPort: host.internalGrpcPort, httpPort: host.httpPort, metricsPort: host.metricsPort };
    process.stdout.write(`${JSON.stringify(listening)}\n`);
    let stopping = false;
    const stop = async (signal: string): Promise<void> => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, "shutting down");
      // A stop that hangs (a peer that never answers) must not keep the process alive.
      setTimeout(() => {
        log.error({ graceMs: config.SHUTDOWN_GRACE_MS }, "graceful stop took too long; exiting");
        process.exit(1);
      }, 3 * config.SHUTDOWN_GRACE_MS + 1_000).unref();
      host.setServing(false);
      try {
        await service.drain?.(config.SHUTDOWN_GRACE_MS);
        await host.close(config.SHUTDOWN_GRACE_MS);
        await service.close();
        log.info("stopped");
        process.exit(0);
      } catch (err) {
        log.error({ err }, "shutdown failed");
        process.exit(1);
      }
    };
    process.on("SIGTERM", () => void stop("SIGTERM"));
    process.on("SIGINT", () => void stop("SIGINT"));
    if (process.env[exitWithParentEnv] === "1") {
      stopWhenStdinEnds(() => {
        // The launcher read this process's output: nobody reads it any more.
        dropLogOutput(log);
        void stop("launcher gone");
      });
    }
  } catch (err) {
    log.fatal({ err }, "failed to start");
    process.exit(1);
  }
}
