import { createRouterTransport, type Transport } from "@connectrpc/connect";
import type { ServiceRoute } from "./service-routes.js";

/**
 * A transport that calls the routes in this process, through the same Connect machinery
 * (serialization included) as a network call: the one-process default for service-to-service
 * calls.
 */
export function createInMemoryTransport(routes: readonly ServiceRoute[]): Transport {
  return createRouterTransport((router) => {
    for (const r of routes) router.service(r.service, r.impl);
  });
}
