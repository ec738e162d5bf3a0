import type { ConnectError, HandlerContext } from "@connectrpc/connect";
import { CallContext } from "./handler-context.js";

/**
 * Ends the current streaming call with `reason` as soon as possible, even while the
 * transport is blocked writing to a client that stopped reading (a slow consumer). The gRPC
 * adapter's CallContext does it by aborting the call; on other transports it does nothing and
 * the handler's error ends the call when the transport next pulls.
 */
export function abortStream(ctx: HandlerContext, reason: ConnectError): void {
  if (ctx instanceof CallContext) ctx.abort(reason);
}

/**
 * Calls `listener` once when the call ends early (the client cancelled, the deadline passed,
 * or abortStream); returns what stops listening. On a CallContext this makes no AbortSignal.
 */
export function onCallAbort(ctx: HandlerContext, listener: () => void): () => void {
  if (ctx instanceof CallContext) {
    ctx.onAbort(listener);
    return () => ctx.onAbort(undefined);
  }
  ctx.signal.addEventListener("abort", listener, { once: true });
  return () => ctx.signal.removeEventListener("abort", listener);
}
