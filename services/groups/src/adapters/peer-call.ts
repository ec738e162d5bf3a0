import type { HandlerContext } from "@connectrpc/connect";
import { requestIdHeader } from "@messenger/rpc";

/** What the adapters carry from one incoming call to the peers they call for it. */
export interface PeerCall {
  /** The caller's `authorization` header, for peers that check the access token themselves (accounts, history). */
  readonly authorization: string;
  /** The incoming request id, passed on so one request reads as one in every service's logs. */
  readonly requestId: string;
  /** Aborted when the caller goes away: reads stop then; commits and their deliveries do not. */
  readonly signal: AbortSignal;
}

/** Headers of a peer call made for `call`; with the caller's token only when `withToken`. */
export function peerHeaders(call: PeerCall, withToken: boolean): Record<string, string> {
  const h: Record<string, string> = {};
  if (call.requestId) h[requestIdHeader] = call.requestId;
  if (withToken && call.authorization) h.authorization = call.authorization;
  return h;
}

/** What an incoming call passes on to the peers called for it. */
export function peerCallOf(ctx: HandlerContext): PeerCall {
  return { authorization: ctx.requestHeader.get("authorization") ?? "", requestId: ctx.requestHeader.get(requestIdHeader) ?? "", signal: ctx.signal };
}
