import { createContextKey, type ConnectError, type HandlerContext } from "@connectrpc/connect";

/**
 * Lets a streaming handler end its own call with a status even while the transport is
 * blocked writing to a client that stopped reading (a slow consumer). The gRPC adapter
 * provides it; elsewhere it is a no-op and the handler's error ends the call when the
 * transport next pulls.
 */
export const streamAbortKey = createContextKey<(reason: ConnectError) => void>(() => {}, { description: "abort the current stream" });

/** Ends the current streaming call with `reason` as soon as possible. */
export function abortStream(ctx: HandlerContext, reason: ConnectError): void {
  ctx.values.get(streamAbortKey)(reason);
}
