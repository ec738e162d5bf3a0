import { Code, ConnectError } from "@connectrpc/connect";
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
