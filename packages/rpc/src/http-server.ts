import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { createContextValues } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { clientAddressKey, normalizeAddress } from "./client-address.js";
import { ServingState } from "./health.js";
import type { ServiceRoute } from "./service-routes.js";
import { withStandardServices } from "./standard-routes.js";

/** A plain HTTP endpoint (for example /metrics), served over HTTP/1.1 and cleartext HTTP/2 alike. */
export type HttpRoute = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse) => void;

/** Options of the Connect / gRPC-Web / gRPC listener. */
export interface HttpServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  routes: readonly ServiceRoute[];
  maxReceiveMessageBytes: number;
  /**
   * Extra plain HTTP endpoints (for example /metrics), matched by exact path; a key ending
   * in "/" matches every path under it (the local blob store's signed URLs).
   */
  extraRoutes?: Record<string, HttpRoute>;
  /** What grpc.health.v1 reports; share one across a process's listeners. Default: serving, for good. */
  serving?: ServingState;
}

/** A running HTTP listener. */
export interface HttpServerHandle {
  readonly port: number;
  close(): Promise<void>;
}

const h2Preface = "PRI";

/**
 * Serves the routes with connect-node on one port that speaks both HTTP/1.1 (browsers,
 * curl: Connect and gRPC-Web) and cleartext HTTP/2 (gRPC, Connect), told apart by the
 * HTTP/2 connection preface on the first bytes. grpc.health.v1 and server reflection are
 * served here too, as on the gRPC port.
 */
export async function startHttpServer(opts: HttpServerOptions): Promise<HttpServerHandle> {
  const connect = connectNodeAdapter({
    routes: (router) => {
      for (const r of withStandardServices(opts.routes, opts.serving ?? new ServingState())) router.service(r.service, r.impl);
    },
    readMaxBytes: opts.maxReceiveMessageBytes,
    contextValues: (req) => createContextValues().set(clientAddressKey, normalizeAddress(req.socket.remoteAddress ?? "")),
  });
  const prefixRoutes = Object.entries(opts.extraRoutes ?? {}).filter(([key]) => key.endsWith("/"));
  const handler = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse): void => {
    const path = req.url?.split("?")[0] ?? "";
    const extra = opts.extraRoutes?.[path] ?? prefixRoutes.find(([prefix]) => path.startsWith(prefix))?.[1];
    if (extra) return extra(req, res);
    connect(req, res);
  };
  const h1 = http.createServer(handler);
  const h2 = http2.createServer(handler);
  const sockets = new Set<net.Socket>();
  // No Nagle: small responses must not wait for the peer's delayed ACK.
  const tcp = net.createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.once("data", (chunk: Buffer) => {
      socket.pause();
      socket.unshift(chunk);
      if (chunk.toString("latin1", 0, 3) === h2Preface) {
        // The HTTP/2 session reads the socket's handle itself and takes the bytes already read
        // from the socket's buffer: resuming the JS stream here would race it for the data
        // (the session then answered the preface with GOAWAY).
        h2.emit("connection", socket);
      } else {
        h1.emit("connection", socket);
        socket.resume();
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    tcp.once("error", reject);
    tcp.listen(opts.port, opts.host, () => resolve());
  });
  const address = tcp.address() as net.AddressInfo;
  return {
    port: address.port,
    close() {
      return new Promise<void>((resolve) => {
        tcp.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
  };
}
