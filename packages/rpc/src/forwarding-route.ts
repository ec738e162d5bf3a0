import type { DescMessage, DescMethodUnary, DescService } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl, Transport } from "@connectrpc/connect";
import type { ServiceRoute, Visibility } from "./service-routes.js";

/**
 * Serves a service's unary RPCs by calling its owner through `transport`, passing the
 * caller's authorization and request id along. A gateway uses it to offer the public unary
 * APIs on its own address, so a client needs one address where no ingress routes by service.
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
      const res = await transport.unary(method as DescMethodUnary<DescMessage, DescMessage>, ctx.signal, ctx.timeoutMs(), header, req as never, undefined);
      return res.message;
    };
  }
  return { service, impl: impl as unknown as Partial<ServiceImpl<DescService>>, visibility };
}
