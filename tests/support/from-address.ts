import net from "node:net";
import type { Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";

/** A transport whose connections leave from a chosen local address, and how to drop them. */
export interface AddressedTransport {
  readonly transport: Transport;
  close(): void;
}

/**
 * gRPC over HTTP/2 to `url` from the loopback address `from` (any of 127.0.0.0/8 on Linux),
 * so one test can be several clients as the server sees them.
 */
export function grpcFrom(url: string, from: string): AddressedTransport {
  const target = new URL(url);
  const sessionManager = new Http2SessionManager(url, undefined, {
    createConnection: () => net.connect({ host: target.hostname, port: Number(target.port), localAddress: from }),
  });
  return { transport: createGrpcTransport({ baseUrl: url, sessionManager }), close: () => sessionManager.abort() };
}

/** The Connect protocol over HTTP/1.1 to `url` from the loopback address `from`. */
export function connectFrom(url: string, from: string): AddressedTransport {
  return { transport: createConnectTransport({ baseUrl: url, httpVersion: "1.1", nodeOptions: { localAddress: from } }), close: () => undefined };
}
