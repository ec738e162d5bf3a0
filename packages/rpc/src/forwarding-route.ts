import type { DescMessage, DescMethodUnary, DescService } from "@bufbuild/protobuf";
import { ConnectError, type HandlerContext, type ServiceImpl, type Transport } from "@connectrpc/connect";
import { clientAddress, clientAddressHeader } from "./client-address.js";
import type { ServiceRoute, Visibility } from "./service-routes.js";

/**
 * Serves a service's unary RPCs by calling its owner through `transport`, passing the
 * caller's authorization, request id and network address along (the address in
 * clientAddressHeader, which the owner trusts on its internal listener only). A gateway
 * uses it to offer the public unary APIs on its own address, so a client needs one address
 * where no ingress routes by service.
 */
export function forwardingRoute(service: DescService, transport: Transport, visibility: Visibility = "public"): ServiceRoute {
  const impl: Record<string, (req: unknown, ctx: HandlerContext) => Promise<unknown>> = {};
  for (const method of service.methods) {
    if (method.methodKind !== "unary") continue;
    impl[method.localName] = async (req, ctx) => {
      const header = new Headers();
      for (const name of ["authorization", "x-request-id"]) {
        const v = ctx.requestHeader.get(name);
        if (v) header.set(name, v);
      }
      // The owner limits some calls by client address; behind this hop it would see ours.
      const address = clientAddress(ctx);
      if (address) header.set(clientAddressHeader, address);
      try {
        const res = await transport.unary(method as DescMethodUnary<DescMessage, DescMessage>, ctx.signal, ctx.timeoutMs(), header, req as never, undefined);
        return res.message;
      } catch (err) {
        throw asOwnError(ConnectError.from(err));
      }
    };
  }
  return { service, impl: impl as unknown as Partial<ServiceImpl<DescService>>, visibility };
}

/** Headers of the hop to the owner, not of the error: content type, gRPC status, date. */
const hopHeaders = new Set(["content-type", "content-length", "content-encoding", "date", "te", "trailer", "connection", "keep-alive", "transfer-encoding"]);
const isHopHeader = (name: string): boolean => hopHeaders.has(name) || name.startsWith("grpc-") || name.startsWith("connect-");

/**
 * The owner's error as this hop answers it: same code, message and details (a RetryInfo
 * with them), without the headers of the owner's transport, which would contradict the
 * protocol the client speaks here (a gRPC content type in a Connect answer makes the
 * client read an HTTP status instead of the error).
 */
function asOwnError(err: ConnectError): ConnectError {
  const metadata = new Headers();
  err.metadata.forEach((value, name) => {
    if (!isHopHeader(name)) metadata.set(name, value);
  });
  const own = new ConnectError(err.rawMessage, err.code, metadata, undefined, err);
  own.details.push(...err.details);
  return own;
}
