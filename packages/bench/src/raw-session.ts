import http2 from "node:http2";
import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { SessionRequestSchema, SessionResponseSchema, type SessionResponse } from "@messenger/proto/gateway/v1/gateway_service";

const sessionPath = "/messenger.gateway.v1.GatewayService/Session";

/** gRPC length-prefixed framing: flag byte, 4-byte big-endian length, message. */
export function grpcFrame(bytes: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + bytes.length);
  out[0] = 0;
  out.writeUInt32BE(bytes.length, 1);
  out.set(bytes, 5);
  return out;
}

/** Splits a byte stream into gRPC messages. */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);
  constructor(private readonly onMessage: (bytes: Buffer) => void) {}
  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    while (this.buf.length >= 5) {
      const len = this.buf.readUInt32BE(1);
      if (this.buf.length < 5 + len) break;
      this.onMessage(this.buf.subarray(5, 5 + len));
      this.buf = this.buf.subarray(5 + len);
    }
  }
}

/**
 * A device session on plain node:http2 that hands over each response frame's bytes
 * undecoded, for load generators that parse only the fields they need (see wire.ts).
 */
export class RawByteSession {
  readonly stream: http2.ClientHttp2Stream;
  ended = false;

  constructor(connection: http2.ClientHttp2Session, onMessage: (bytes: Buffer) => void, onEnd: (status: string) => void = () => {}) {
    this.stream = connection.request({ ":method": "POST", ":path": sessionPath, "content-type": "application/grpc", te: "trailers" });
    const reader = new FrameReader(onMessage);
    this.stream.on("data", (chunk: Buffer) => reader.push(chunk));
    this.stream.on("trailers", (t) => onEnd(String(t["grpc-status"] ?? "")));
    this.stream.on("error", () => undefined);
    this.stream.on("close", () => {
      this.ended = true;
    });
  }

  send(frame: MessageInitShape<typeof SessionRequestSchema>): void {
    this.sendFramed(grpcFrame(toBinary(SessionRequestSchema, create(SessionRequestSchema, frame))));
  }

  /** Writes a frame already encoded with grpcFrame (e.g. a ping encoded once). */
  sendFramed(framed: Buffer): void {
    if (!this.ended) this.stream.write(framed);
  }

  close(): void {
    this.stream.close();
  }
}

/**
 * A device session on plain node:http2, the lightest client there is, so that the load
 * generator measures the server rather than itself. Several sessions may share one HTTP/2
 * connection (streams), the way a benchmark reaches past one process's socket limit.
 */
export class RawSession extends RawByteSession {
  constructor(
    connection: http2.ClientHttp2Session,
    onFrame: (f: SessionResponse, bytes: number) => void,
    onEnd: (status: string) => void = () => {},
  ) {
    super(connection, (bytes) => onFrame(fromBinary(SessionResponseSchema, bytes), bytes.length), onEnd);
  }
}

/** Opens an HTTP/2 connection to a gRPC server. */
export function connectH2(url: string): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const s = http2.connect(url);
    s.once("connect", () => resolve(s));
    s.once("error", reject);
  });
}

/**
 * Opens a connection and a device session on it, says hello with `token` and resolves once
 * the replay is over (sync_complete); every frame, those before included, goes to `onFrame`.
 */
export async function openSyncedSession(
  url: string,
  token: string,
  onFrame: (f: SessionResponse, bytes: number) => void,
): Promise<{ connection: http2.ClientHttp2Session; session: RawSession }> {
  const connection = await connectH2(url);
  const session = await new Promise<RawSession>((resolve) => {
    const s = new RawSession(connection, (f, n) => {
      if (f.frame.case === "syncComplete") resolve(s);
      onFrame(f, n);
    });
    s.send({ frame: { case: "hello", value: { accessToken: token } } });
  });
  return { connection, session };
}
