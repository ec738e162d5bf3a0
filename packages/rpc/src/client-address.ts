import { isIP, isIPv6 } from "node:net";
import type { DescService } from "@bufbuild/protobuf";
import { createContextKey, createContextValues, type ContextKey, type ContextValues, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import type { ServiceRoute } from "./service-routes.js";

/**
 * The network address of the client a call comes from, as the listener that took it saw it
 * ("" when unknown: an in-process call). Set by both transports from the socket; on a
 * service's internal listener, by the gateway that forwarded a client's call.
 */
export const clientAddressKey: ContextKey<string> = createContextKey("", { description: "client address" });

/**
 * The header in which a gateway tells the service it forwards a call to the address of the
 * client that made it. Trusted only on internal listeners (trustForwardedClientAddress).
 */
export const clientAddressHeader = "x-messenger-client-address";

/** Set on calls that came in on an internal listener, where a forwarded address is believed. */
const forwardedAddressTrusted: ContextKey<boolean> = createContextKey(false, { description: "forwarded client address trusted" });

/**
 * The address of the client this call comes from, or "" when unknown. On an internal
 * listener, the address a gateway forwarded in the header when there is one; the header is
 * read only here, so calls whose handler never asks build no headers for it.
 */
export function clientAddress(ctx: HandlerContext): string {
  if (ctx.values.get(forwardedAddressTrusted)) {
    const forwarded = normalizeAddress(ctx.requestHeader.get(clientAddressHeader)?.trim() ?? "");
    if (isIP(forwarded)) return forwarded;
  }
  return ctx.values.get(clientAddressKey);
}

/** An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) as the IPv4 address it is. */
export function normalizeAddress(address: string): string {
  return address.startsWith("::ffff:") && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/**
 * The host part of a grpc-js peer string (`10.0.0.1:5000`, `::1:5000`: grpc-js writes IPv6
 * without brackets, so the port is what follows the last colon).
 */
export function addressOfPeer(peer: string): string {
  const colon = peer.lastIndexOf(":");
  const host = colon > 0 ? peer.slice(0, colon).replace(/^\[(.*)\]$/, "$1") : "";
  return isIP(host) ? normalizeAddress(host) : "";
}

/**
 * The key an address is rate limited by: an IPv4 address as it is, an IPv6 address by its
 * /64 network, because one subscriber usually holds a whole /64 and could otherwise take a
 * fresh bucket per address.
 */
export function addressLimitKey(address: string): string {
  if (!isIPv6(address)) return address;
  const [head = "", tail = ""] = address.split("%")[0]!.split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  // An embedded IPv4 address (a.b.c.d) at the end stands for two groups.
  const rightGroups = right.reduce((n, g) => n + (g.includes(".") ? 2 : 1), 0);
  const groups = address.includes("::") ? [...left, ...Array<string>(Math.max(0, 8 - left.length - rightGroups)).fill("0"), ...right] : left;
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(":")}::/64`;
}

/**
 * Context values whose client address is read from the connection only when a handler asks
 * (a grpc-js call builds its peer string on every request, and most handlers never ask).
 */
export function peerContextValues(peer: () => string): ContextValues {
  const values = createContextValues();
  let known = false;
  const lazy: ContextValues = {
    get<T>(key: ContextKey<T>): T {
      if (key === (clientAddressKey as ContextKey<unknown>) && !known) {
        known = true;
        values.set(clientAddressKey, addressOfPeer(peer()));
      }
      return values.get(key);
    },
    set<T>(key: ContextKey<T>, value: T) {
      if (key === (clientAddressKey as ContextKey<unknown>)) known = true;
      values.set(key, value);
      return lazy;
    },
    delete(key: ContextKey<unknown>) {
      values.delete(key);
      return lazy;
    },
  };
  return lazy;
}

type AnyFn = (req: unknown, ctx: HandlerContext) => unknown;

/**
 * For a route served on an internal listener (reachable by peers only, never by clients):
 * a call that carries the client address header (a gateway forwarding a client's call) is
 * attributed to that client rather than to the gateway. Public listeners never do this, so
 * a client cannot choose the address it is limited by. Only unary calls are forwarded.
 */
export function trustForwardedClientAddress(r: ServiceRoute): ServiceRoute {
  const impl: Record<string, AnyFn> = {};
  for (const method of r.service.methods) {
    const fn = (r.impl as Record<string, AnyFn | undefined>)[method.localName];
    if (!fn) continue;
    impl[method.localName] =
      method.methodKind !== "unary"
        ? fn.bind(r.impl)
        : (req, ctx) => {
            ctx.values.set(forwardedAddressTrusted, true);
            return fn.call(r.impl, req, ctx);
          };
  }
  return { ...r, impl: impl as unknown as Partial<ServiceImpl<DescService>> };
}
