import type { DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import type { Logger } from "@messenger/logging";
import { randomUUID } from "node:crypto";
import { DomainError, type DomainErrorKind } from "./domain-error.js";
import type { ServiceMetrics } from "./metrics.js";
import type { ServiceRoute } from "./service-routes.js";

const codeOfKind: Record<DomainErrorKind, Code> = {
  invalid_argument: Code.InvalidArgument,
  unauthenticated: Code.Unauthenticated,
  not_found: Code.NotFound,
  already_exists: Code.AlreadyExists,
  permission_denied: Code.PermissionDenied,
  failed_precondition: Code.FailedPrecondition,
  aborted: Code.Aborted,
  out_of_range: Code.OutOfRange,
  resource_exhausted: Code.ResourceExhausted,
  unavailable: Code.Unavailable,
  data_loss: Code.DataLoss,
};

/** The one mapping of a domain refusal to its gRPC status. */
export function domainErrorToConnect(err: DomainError): ConnectError {
  return new ConnectError(err.message, codeOfKind[err.kind]);
}

/**
 * What a caller is told for a status that says the system, not the request, failed: the
 * original (a peer's address, a socket error, a stack) goes to the log under the request id.
 */
const stableMessages: Partial<Record<Code, string>> = {
  [Code.Unavailable]: "the service is unavailable; try again",
  [Code.Internal]: "internal error",
  [Code.Unknown]: "internal error",
  [Code.DataLoss]: "internal error",
};

/**
 * Maps any thrown value to the error that crosses the wire: a ConnectError passes with its
 * code, and with its message unless that code says the system failed (UNAVAILABLE,
 * INTERNAL, UNKNOWN, DATA_LOSS: those carry a stable message, the original is logged); a
 * DomainError becomes its status with its message; anything else becomes INTERNAL with a
 * generic message, and its cause goes to the log only.
 */
export function toWireError(err: unknown, log: Logger, where: string, requestId = ""): ConnectError {
  // Connect reports a stream frame it cannot decode as INTERNAL ("parse binary: ..."): the
  // request was bad, not the server, and the native gRPC port says INVALID_ARGUMENT for it.
  if (err instanceof ConnectError && err.code === Code.Internal && err.rawMessage.startsWith("parse binary:")) {
    return new ConnectError(`malformed request frame (${err.rawMessage.slice("parse binary: ".length)})`, Code.InvalidArgument);
  }
  if (err instanceof ConnectError) {
    const stable = stableMessages[err.code];
    if (stable === undefined || err.rawMessage === stable) return err;
    log.warn({ err, rpc: where, requestId }, "rpc failed: the caller is told only the status");
    return new ConnectError(stable, err.code, err.metadata);
  }
  if (err instanceof DomainError) return domainErrorToConnect(err);
  log.error({ err, rpc: where, requestId }, "unhandled error in rpc handler");
  return new ConnectError("internal error", Code.Internal);
}

type AnyFn = (req: unknown, ctx: HandlerContext) => unknown;

/** The header carrying a request id across services; one is made up when absent. */
export const requestIdHeader = "x-request-id";

/** The call's request id, made up (and set on the request headers) when absent. */
function requestIdOf(ctx: HandlerContext): string {
  let requestId = ctx.requestHeader.get(requestIdHeader);
  if (!requestId) {
    requestId = randomUUID();
    ctx.requestHeader.set(requestIdHeader, requestId);
  }
  return requestId;
}

/**
 * Wraps every method of a route so that errors cross the wire once, through toWireError,
 * each call is counted and timed (streams by their lifetime) when metrics are given, and
 * each call has a request id for the logs. Every transport serves the wrapped implementation.
 */
export function instrumentRoute(r: ServiceRoute, log: Logger, metrics?: ServiceMetrics): ServiceRoute {
  const wrapped: Record<string, AnyFn> = {};
  for (const method of r.service.methods) {
    const fn = (r.impl as Record<string, AnyFn | undefined>)[method.localName];
    if (!fn) continue;
    const where = `${r.service.typeName}/${method.name}`;
    const begin = (): { done: (code: Code | 0) => void } => {
      metrics?.rpcStarted.inc({ rpc: where });
      const start = process.hrtime.bigint();
      return { done: (code) => metrics?.rpcDuration.observe({ rpc: where, code: code === 0 ? "OK" : Code[code] }, Number(process.hrtime.bigint() - start) / 1e9) };
    };
    if (method.methodKind === "unary" || method.methodKind === "client_streaming") {
      wrapped[method.localName] = async (req, ctx) => {
        const call = begin();
        // Made up front so that calls this one forwards carry it.
        const requestId = requestIdOf(ctx);
        try {
          const res = await fn.call(r.impl, req, ctx);
          call.done(0);
          return res;
        } catch (err) {
          const e = toWireError(err, log, where, requestId);
          call.done(e.code);
          throw e;
        }
      };
    } else {
      wrapped[method.localName] = (req, ctx) =>
        (async function* () {
          const call = begin();
          try {
            yield* fn.call(r.impl, req, ctx) as AsyncIterable<unknown>;
            call.done(0);
          } catch (err) {
            // Looked up only now: a stream forwards nothing, and a gateway holds many idle ones.
            const e = toWireError(err, log, where, requestIdOf(ctx));
            call.done(e.code);
            throw e;
          }
        })();
    }
  }
  return { ...r, impl: wrapped as unknown as Partial<ServiceImpl<DescService>> };
}

/** The service descriptor type, re-exported for callers that build routes by hand. */
export type { DescService };
