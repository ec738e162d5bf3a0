import http from "node:http";
import type net from "node:net";
import type { HttpRoute, HttpServerHandle } from "./http-server.js";

/** Options of the operator's listener. */
export interface OpsServerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Matched by exact path; any other path answers 404. */
  readonly routes: Record<string, HttpRoute>;
}

/**
 * A plain HTTP/1.1 listener for operator endpoints (metrics scrapes, probes) on a port of
 * their own, so that the public HTTP port can face the internet while these stay inside the
 * cluster. It serves nothing else: no RPC, no health service, no reflection.
 */
export async function startOpsServer(opts: OpsServerOptions): Promise<HttpServerHandle> {
  const server = http.createServer((req, res) => {
    const route = opts.routes[req.url?.split("?")[0] ?? ""];
    if (route) return route(req, res);
    res.statusCode = 404;
    res.setHeader("content-type", "text/plain; charset=utf-8");
    res.end("not found\n");
  });
  const sockets = new Set<net.Socket>();
  server.on("connection", (socket: net.Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        // A scraper's keep-alive connection would hold close() open.
        for (const s of sockets) s.destroy();
      });
    },
  };
}
