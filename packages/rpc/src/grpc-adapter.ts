import { once } from "node:events";
import { create, fromBinary, toBinary, type DescMessage, type DescMethod, type DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { peerContextValues } from "./client-address.js";
import { CallContext } from "./handler-context.js";
import * as grpc from "@grpc/grpc-js";
import type { ServiceRoute } from "./service-routes.js";

/**
 * Serves a Connect ServiceImpl on a @grpc/grpc-js server: the implementation is written
 * once and this adapter only moves bytes, headers and status codes. Requests are decoded
 * here rather than by grpc-js so an undecodable frame gets INVALID_ARGUMENT.
 */
export function addRouteToGrpcServer(server: grpc.Server, r: ServiceRoute): void {
  const definition: Record<string, grpc.MethodDefinition<Buffer, Buffer>> = {};
  const handlers: grpc.UntypedServiceImplementation = {};
  for (const method of r.service.methods) {
    const impl = (r.impl as Record<string, unknown>)[method.localName];
    if (typeof impl !== "function") continue;
    definition[method.name] = {
      path: `/${r.service.typeName}/${method.name}`,
      requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
      responseStream: method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
      originalName: method.localName,
    };
    handlers[method.name] = makeHandler(r.service, method, impl as MethodFn);
  }
  server.addService(definition as grpc.ServiceDefinition, handlers);
}

type MethodFn = (req: unknown, ctx: HandlerContext) => unknown;

const identity = (b: Buffer): Buffer => b;

/** The reason a finished call's context is aborted with; a given reason avoids building a DOMException per call. */
const callCompleted = new ConnectError("call completed", Code.Canceled);

function decode(schema: DescMessage, bytes: Buffer): unknown {
  try {
    return fromBinary(schema, bytes);
  } catch {
    throw new ConnectError(`malformed ${schema.typeName}`, Code.InvalidArgument);
  }
}

function encode(schema: DescMessage, init: unknown): Buffer {
  const bytes = toBinary(schema, create(schema, init as never));
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function headersFrom(md: grpc.Metadata): [string, string][] {
  const h: [string, string][] = [];
  for (const [k, v] of Object.entries(md.getMap())) {
    if (typeof v === "string") h.push([k, v]);
  }
  return h;
}

/**
 * Connect headers as grpc-js metadata: a `-bin` header's value is base64 in Headers and
 * bytes in Metadata. One grpc-js refuses (a character HTTP/2 cannot carry) is dropped: it
 * must not cost the call its response or status.
 */
function setHeader(md: grpc.Metadata, value: string, key: string): void {
  try {
    if (key.endsWith("-bin")) md.set(key, Buffer.from(value, "base64"));
    else md.set(key, value);
  } catch {
    // dropped, as said
  }
}

function metadataFrom(h: Headers | undefined): grpc.Metadata {
  const md = new grpc.Metadata();
  h?.forEach((v, k) => setHeader(md, v, k));
  return md;
}

const statusDetailsKey = "grpc-status-details-bin";

function statusOf(err: unknown, trailer: Headers | undefined): grpc.StatusObject {
  const ce = ConnectError.from(err);
  const md = metadataFrom(trailer);
  // An error from a peer carries the peer's trailers, its status details among them (set
  // again below from ce.details).
  ce.metadata.forEach((v, k) => setHeader(md, v, k));
  // Error details (a RetryInfo, say) travel as a google.rpc.Status in binary metadata, the
  // way every gRPC implementation reads them; Connect encodes that Status for us.
  const details = ce.details.length > 0 ? setTrailerStatus(new Headers(), ce).get(statusDetailsKey) : null;
  if (details) md.set(statusDetailsKey, Buffer.from(details, "base64"));
  return { code: ce.code as number as grpc.status, details: ce.rawMessage, metadata: md };
}

function contextFor(service: DescService, method: DescMethod, call: grpc.ServerUnaryCall<Buffer, Buffer> | grpc.ServerReadableStream<Buffer, Buffer> | grpc.ServerWritableStream<Buffer, Buffer> | grpc.ServerDuplexStream<Buffer, Buffer>): CallContext {
  const deadline = call.getDeadline();
  const ms = deadline instanceof Date ? deadline.getTime() - Date.now() : Number.isFinite(deadline) ? Number(deadline) - Date.now() : undefined;
  const ctx = new CallContext({
    service,
    method,
    protocolName: "grpc",
    requestHeader: () => headersFrom(call.metadata),
    contextValues: peerContextValues(() => call.getPeer()),
    ...(ms !== undefined && ms > 0 ? { timeoutMs: ms } : {}),
  });
  (call as NodeJS.EventEmitter).on("cancelled", () => ctx.abort(new ConnectError("cancelled by client", Code.Canceled)));
  return ctx;
}

/**
 * Reads a request stream as decoded messages. It listens to events rather than using the
 * Readable's async iterator, because that iterator destroys the call when an error is
 * emitted on it, and a destroyed call can no longer send its status.
 */
function decodeStream(schema: DescMessage, call: grpc.ServerReadableStream<Buffer, Buffer> | grpc.ServerDuplexStream<Buffer, Buffer>): AsyncIterable<unknown> {
  const highWater = 64;
  const queue: Buffer[] = [];
  let ended = false;
  let failure: unknown;
  // No named helper closures here: tsx (esbuild keepNames) gives each one its own property
  // store, and a gateway holds one of these per open session.
  let wake: (() => void) | undefined;
  call.on("data", (b: Buffer) => {
    queue.push(b);
    if (queue.length >= highWater) call.pause();
    wake?.();
    wake = undefined;
  });
  call.on("end", () => {
    ended = true;
    wake?.();
    wake = undefined;
  });
  call.on("error", (err: unknown) => {
    failure ??= err;
    ended = true;
    wake?.();
    wake = undefined;
  });
  return {
    async *[Symbol.asyncIterator]() {
      for (;;) {
        const next = queue.shift();
        if (next !== undefined) {
          if (queue.length < highWater / 2 && call.isPaused()) call.resume();
          yield decode(schema, next);
          continue;
        }
        if (failure !== undefined) throw ConnectError.from(failure);
        if (ended) return;
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
  };
}

function makeHandler(service: DescService, method: DescMethod, impl: MethodFn): grpc.UntypedHandleCall {
  switch (method.methodKind) {
    case "unary":
      return (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        const ctx = contextFor(service, method, call);
        void (async () => {
          try {
            const res = await impl(decode(method.input, call.request), ctx);
            callback(null, encode(method.output, res), metadataFrom(ctx.responseTrailerIfAny));
          } catch (err) {
            callback(statusOf(err, ctx.responseTrailerIfAny));
          } finally {
            ctx.abort(callCompleted);
          }
        })();
      };
    case "client_streaming":
      return (call: grpc.ServerReadableStream<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        const ctx = contextFor(service, method, call);
        void (async () => {
          try {
            const res = await impl(decodeStream(method.input, call), ctx);
            callback(null, encode(method.output, res), metadataFrom(ctx.responseTrailerIfAny));
          } catch (err) {
            callback(statusOf(err, ctx.responseTrailerIfAny));
          } finally {
            ctx.abort(callCompleted);
          }
        })();
      };
    case "server_streaming":
      return (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
        const ctx = contextFor(service, method, call);
        let input: unknown;
        try {
          input = decode(method.input, call.request);
        } catch (err) {
          call.emit("error", statusOf(err, ctx.responseTrailerIfAny));
          return;
        }
        void pump(call, method.output, impl(input, ctx) as AsyncIterable<unknown>, ctx);
      };
    case "bidi_streaming":
      return (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
        const ctx = contextFor(service, method, call);
        void pump(call, method.output, impl(decodeStream(method.input, call), ctx) as AsyncIterable<unknown>, ctx);
      };
  }
}

/** Sends the handler's response headers, if it set any; true once done. */
function sendHeader(call: grpc.ServerWritableStream<Buffer, Buffer> | grpc.ServerDuplexStream<Buffer, Buffer>, ctx: CallContext): true {
  const header = ctx.responseHeaderIfAny;
  if (header && [...header.keys()].length > 0) call.sendMetadata(metadataFrom(header));
  return true;
}

/** Writes a response stream with backpressure, then ends it with the right status. */
async function pump(
  call: grpc.ServerWritableStream<Buffer, Buffer> | grpc.ServerDuplexStream<Buffer, Buffer>,
  schema: DescMessage,
  out: AsyncIterable<unknown>,
  ctx: CallContext,
): Promise<void> {
  let headerSent = false;
  try {
    for await (const msg of out) {
      headerSent ||= sendHeader(call, ctx);
      if (call.cancelled || call.destroyed) break;
      if (!call.write(encode(schema, msg))) {
        try {
          await once(call, "drain", { signal: ctx.signal });
        } catch {
          throw ctx.signal.reason;
        }
      }
    }
    headerSent ||= sendHeader(call, ctx);
    if (!call.cancelled && !call.destroyed) call.end(metadataFrom(ctx.responseTrailerIfAny));
  } catch (err) {
    if (!call.cancelled && !call.destroyed) call.emit("error", statusOf(err, ctx.responseTrailerIfAny));
  } finally {
    ctx.abort(callCompleted);
  }
}
