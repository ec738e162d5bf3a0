import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { fromBinary } from "@bufbuild/protobuf";
import { SessionRequestSchema, SessionResponseSchema, type SessionRequest, type SessionResponse } from "@messenger/proto/gateway/v1/gateway_service";

const sessionPath = "/messenger.gateway.v1.GatewayService/Session";

/** One decoded Session frame as it crossed the tap, with when (epoch ms). */
export type TappedFrame =
  | { readonly at: number; readonly dir: "out"; readonly frame: SessionRequest["frame"] }
  | { readonly at: number; readonly dir: "in"; readonly frame: SessionResponse["frame"] };

/** Splits a byte stream into gRPC length-prefixed messages. */
function grpcMessages(onMessage: (bytes: Uint8Array) => void): (chunk: Buffer) => void {
  let buf: Buffer = Buffer.alloc(0);
  return (chunk) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    while (buf.length >= 5) {
      const len = buf.readUInt32BE(1);
      if (buf.length < 5 + len) break;
      onMessage(buf.subarray(5, 5 + len));
      buf = buf.subarray(5 + len);
    }
  };
}

/** A cleartext HTTP/2 proxy in front of a gateway that decodes the Session frames crossing it. */
export interface SessionTap {
  /** The address to give a client instead of the gateway's. */
  readonly url: string;
  /** Every Session frame, both ways, in the order the tap saw them. */
  readonly frames: TappedFrame[];
  /** gRPC status codes of Session streams that ended, in order. */
  readonly sessionEnds: number[];
  close(): Promise<void>;
}

/**
 * Puts a proxy between a client and a gateway (every call passes; Session streams are
 * decoded on the way), so a test sees what the client really writes and when, without any
 * hook in the client: a frame reaches the tap after the client wrote it, and an answer
 * reaches the client after the tap saw it, so a gap the tap measures is at most the gap the
 * client left.
 */
export async function startSessionTap(targetUrl: string): Promise<SessionTap> {
  const frames: TappedFrame[] = [];
  const sessionEnds: number[] = [];
  const upstream = http2.connect(targetUrl);
  upstream.on("error", () => undefined);
  const server = http2.createServer();
  const sockets = new Set<http2.ServerHttp2Session>();
  server.on("session", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  server.on("stream", (down, headers) => {
    const path = String(headers[":path"] ?? "");
    const isSession = path === sessionPath;
    const forward: http2.OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(headers)) if (!k.startsWith(":") || k === ":method" || k === ":path") forward[k] = v;
    const up = upstream.request(forward);
    up.on("error", () => undefined);
    down.on("error", () => undefined);
    const outFrames = grpcMessages((b) => frames.push({ at: Date.now(), dir: "out", frame: fromBinary(SessionRequestSchema, b).frame }));
    const inFrames = grpcMessages((b) => frames.push({ at: Date.now(), dir: "in", frame: fromBinary(SessionResponseSchema, b).frame }));
    down.on("data", (chunk: Buffer) => {
      if (isSession) outFrames(chunk);
      up.write(chunk);
    });
    down.on("end", () => up.end());
    down.on("close", () => {
      if (!up.closed) up.close(http2.constants.NGHTTP2_CANCEL);
    });
    let trailers: http2.IncomingHttpHeaders = {};
    up.on("response", (h) => {
      const { ":status": status, ...rest } = h;
      const trailersOnly = h["grpc-status"] !== undefined;
      if (trailersOnly && isSession) sessionEnds.push(Number(h["grpc-status"]));
      if (!down.closed && !down.headersSent) down.respond({ ":status": status, ...rest }, trailersOnly ? { endStream: true } : { waitForTrailers: true });
    });
    up.on("data", (chunk: Buffer) => {
      if (isSession) inFrames(chunk);
      if (!down.closed) down.write(chunk);
    });
    up.on("trailers", (t) => {
      trailers = t;
      if (isSession) sessionEnds.push(Number(t["grpc-status"] ?? 0));
    });
    down.on("wantTrailers", () => {
      const { ...rest } = trailers;
      down.sendTrailers(rest);
    });
    let upEnded = false;
    up.on("end", () => {
      upEnded = true;
      if (!down.closed && down.headersSent && !down.writableEnded) down.end();
    });
    // A reset upstream (not a clean end, whose trailers are still on their way) resets downstream.
    up.on("close", () => {
      if (!upEnded && !down.closed) down.close(up.rstCode || http2.constants.NGHTTP2_CANCEL);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    frames,
    sessionEnds,
    async close() {
      for (const s of sockets) s.destroy();
      upstream.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
