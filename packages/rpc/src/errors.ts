import type { DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import type { Logger } from "@messenger/logging";
import type { ServiceRoute } from "./service-routes.js";

/**
 * Maps any thrown value to the error that crosses the wire: a ConnectError passes as it is;
 * anything else becomes INTERNAL with a generic message, and its cause goes to the log only.
 */
export function toWireError(err: unknown, log: Logger, where: string): ConnectError {
  if (err instanceof ConnectError) return err;
  log.error({ err, rpc: where }, "unhandled error in rpc handler");
  return new ConnectError("internal error", Code.Internal);
}

type AnyFn = (req: unknown, ctx: HandlerContext) => unknown;

/**
 * Wraps every method of a route so errors cross the wire once, through toWireError. Both
 * transports and the in-memory transport serve the wrapped implementation.
 */
export function withErrorMapping(r: ServiceRoute, log: Logger): ServiceRoute {
  const wrapped: Record<string, AnyFn> = {};
  for (const method of r.service.methods) {
    const fn = (r.impl as Record<string, AnyFn | undefined>)[method.localName];
    if (!fn) continue;
    const where = `${r.service.typeName}/${method.name}`;
    if (method.methodKind === "unary" || method.methodKind === "client_streaming") {
      wrapped[method.localName] = async (req, ctx) => {
        try {
          return await fn.call(r.impl, req, ctx);
        } catch (err) {
          throw toWireError(err, log, where);
        }
      };
    } else {
      wrapped[method.localName] = (req, ctx) =>
        (async function* () {
          try {
            yield* fn.call(r.impl, req, ctx) as AsyncIterable<unknown>;
          } catch (err) {
            throw toWireError(err, log, where);
          }
        })();
    }
  }
  return { ...r, impl: wrapped as unknown as Partial<ServiceImpl<DescService>> };
}

/** The service descriptor type, re-exported for callers that build routes by hand. */
export type { DescService };
