import net from "node:net";
import * as grpc from "@grpc/grpc-js";
import { addRouteToGrpcServer } from "./grpc-adapter.js";
import { ServingState } from "./health.js";
import type { ServiceRoute } from "./service-routes.js";
import { withStandardServices } from "./standard-routes.js";

/** Options of the native gRPC listener. */
export interface GrpcServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  routes: readonly ServiceRoute[];
  /** Largest accepted request frame; bigger ones fail with RESOURCE_EXHAUSTED. */
  maxReceiveMessageBytes: number;
  /** What grpc.health.v1 reports; share one across a process's listeners. Default: serving, for good. */
  serving?: ServingState;
  /**
   * Age (± 10 % jitter, applied by grpc-js) at which a connection is sent GOAWAY, so that
   * its client reconnects and re-resolves the server's name: callers then reach replicas
   * added since they connected. Unset or 0: connections live as long as their clients.
   * Calls already running finish within the grace period; a request still on the wire when
   * the GOAWAY goes out is refused unprocessed, and grpc-js clients retry it once. Only for
   * listeners whose calls are short (peers' unary calls), never one holding clients' long
   * streams.
   */
  maxConnectionAgeMs?: number;
  /** After the GOAWAY, how long running calls may go on before the connection is cut. Default 10 s. */
  maxConnectionAgeGraceMs?: number;
}

/** A running native gRPC listener with health and reflection. */
export interface GrpcServerHandle {
  readonly port: number;
  readonly server: grpc.Server;
  /** Stops accepting calls, waits for running calls up to graceMs, then cancels the rest. */
  close(graceMs?: number): Promise<void>;
}

/**
 * Starts a @grpc/grpc-js server for the given routes, plus grpc.health.v1 and server
 * reflection (v1 and v1alpha) over the real file descriptors, so that tools and
 * other-language clients can call the API without our proto files or generated code.
 */
export async function startGrpcServer(opts: GrpcServerOptions): Promise<GrpcServerHandle> {
  const server = new grpc.Server({
    "grpc.max_receive_message_length": opts.maxReceiveMessageBytes,
    "grpc.keepalive_permit_without_calls": 1,
    "grpc.keepalive_time_ms": 60_000,
    // No channelz service is served, and its per-connection and per-call bookkeeping costs
    // memory on every idle session and time on every call.
    "grpc.enable_channelz": 0,
    ...(opts.maxConnectionAgeMs
      ? { "grpc.max_connection_age_ms": opts.maxConnectionAgeMs, "grpc.max_connection_age_grace_ms": opts.maxConnectionAgeGraceMs ?? 10_000 }
      : {}),
  });
  for (const r of withStandardServices(opts.routes, opts.serving ?? new ServingState())) addRouteToGrpcServer(server, r);
  // Our own listener feeds grpc-js through its connection injector, because grpc-js leaves
  // Nagle's algorithm on for accepted sockets: with delayed ACKs that held small responses
  // back by up to 40 ms once several calls shared a connection.
  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  const sockets = new Set<net.Socket>();
  const tcp = net.createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    injector.injectConnection(socket);
  });
  await new Promise<void>((resolve, reject) => {
    tcp.once("error", reject);
    tcp.listen(opts.port, opts.host, () => resolve());
  });
  const port = (tcp.address() as net.AddressInfo).port;
  return {
    port,
    server,
    close(graceMs = 5_000) {
      return new Promise<void>((resolve) => {
        tcp.close();
        const timer = setTimeout(() => {
          server.forceShutdown();
          // With channelz off, grpc-js's forceShutdown does not reach the open sessions (it
          // only tracks them for channelz), so the connections are cut here.
          for (const socket of sockets) socket.destroy();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}
