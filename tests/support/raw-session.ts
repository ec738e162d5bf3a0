import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { SessionRequestSchema, SessionResponseSchema, type SessionResponse } from "@messenger/proto/gateway/v1/gateway_service";

/** A Session stream opened with plain @grpc/grpc-js, able to send arbitrary bytes. */
export interface RawSession {
  readonly call: grpc.ClientDuplexStream<Buffer, Buffer>;
  readonly frames: SessionResponse[];
  /** Resolves with the final status of the call. */
  readonly status: Promise<grpc.StatusObject>;
  send(frame: MessageInitShape<typeof SessionRequestSchema>): void;
  sendBytes(bytes: Buffer): void;
  next(predicate: (f: SessionResponse) => boolean, timeoutMs?: number): Promise<SessionResponse>;
  close(): void;
}

const passthrough = (b: Buffer): Buffer => b;

/** Opens GatewayService/Session on 127.0.0.1:port without the SDK. */
export function openRawSession(port: number, metadata?: grpc.Metadata): RawSession {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const call = client.makeBidiStreamRequest("/messenger.gateway.v1.GatewayService/Session", passthrough, passthrough, metadata ?? new grpc.Metadata());
  const frames: SessionResponse[] = [];
  const waiters = new Set<() => void>();
  call.on("data", (b: Buffer) => {
    frames.push(fromBinary(SessionResponseSchema, b));
    for (const w of waiters) w();
  });
  const status = new Promise<grpc.StatusObject>((resolve) => {
    call.on("status", resolve);
  });
  call.on("error", () => undefined);
  return {
    call,
    frames,
    status,
    send: (frame) => void call.write(Buffer.from(toBinary(SessionRequestSchema, create(SessionRequestSchema, frame)))),
    sendBytes: (bytes) => void call.write(bytes),
    next(predicate, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        let seen = 0;
        const check = (): void => {
          for (; seen < frames.length; seen++) {
            const f = frames[seen]!;
            if (predicate(f)) {
              waiters.delete(check);
              clearTimeout(timer);
              return resolve(f);
            }
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error("timed out waiting for a frame"));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close() {
      call.cancel();
      client.close();
    },
  };
}
