import { Code, ConnectError } from "@connectrpc/connect";

/**
 * The error of a call to a peer service as the client should see it: a peer that vanished
 * mid-call resets the HTTP/2 stream, which arrives as CANCELED, but to the client it is an
 * outage to retry, UNAVAILABLE.
 */
export function peerError(err: unknown): ConnectError {
  const e = ConnectError.from(err);
  return e.code === Code.Canceled ? new ConnectError(`peer service went away: ${e.rawMessage}`, Code.Unavailable) : e;
}

/** Send failures a client should retry with the same client message id. */
export const retryableSendCodes: ReadonlySet<Code> = new Set([Code.Unavailable, Code.DeadlineExceeded, Code.Aborted, Code.Internal, Code.Unknown, Code.ResourceExhausted]);

/** Failures that say the peer is unreachable rather than that one call went wrong: they open the circuit breaker. */
export const outageCodes: ReadonlySet<Code> = new Set([Code.Unavailable, Code.DeadlineExceeded]);
