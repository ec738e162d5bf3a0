import type { DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { domainErrorToConnect } from "@messenger/rpc";
import { DomainError } from "../domain/errors.js";

/**
 * A per-item status (AppendResult, CursorResult): a domain error's code and message (through
 * the shared mapping of @messenger/rpc); any other failure (storage trouble) is UNAVAILABLE
 * with `fallback`, to be repeated, its cause kept out of the answer.
 */
export function itemStatus(err: unknown, fallback: string): { errorCode: number; errorMessage: string } {
  if (err instanceof DomainError) {
    const e = domainErrorToConnect(err);
    return { errorCode: e.code, errorMessage: e.rawMessage };
  }
  if (err instanceof ConnectError) return { errorCode: err.code, errorMessage: err.rawMessage };
  return { errorCode: Code.Unavailable, errorMessage: fallback };
}

type AnyMethod = (...args: unknown[]) => unknown;

/**
 * Wraps every method of an implementation so a DomainError thrown by the domain leaves as
 * its gRPC status (domainErrorToConnect, the mapping toWireError uses too), also where a
 * route is served without instrumentRoute (tests through createRouterTransport); other errors
 * pass on to the transport's interceptor (INTERNAL, logged). Both store routes go through it.
 */
export function mapDomainErrors<S extends DescService>(impl: ServiceImpl<S>): ServiceImpl<S> {
  const wrapped: Record<string, AnyMethod> = {};
  for (const [name, fn] of Object.entries(impl as Record<string, AnyMethod>)) {
    wrapped[name] = async (...args: unknown[]) => {
      try {
        return await fn(...args);
      } catch (err) {
        throw err instanceof DomainError ? domainErrorToConnect(err) : err;
      }
    };
  }
  return wrapped as unknown as ServiceImpl<S>;
}
