import type { ServiceRoute } from "@messenger/rpc";
import { routerRoute, type RouterDeps } from "./rpc/router-service.js";

/** The router service, ready to mount on any transport. */
export interface RouterApp {
  readonly routes: ServiceRoute[];
}

/** Composes the router from a store client, the bus, the session registry and the offline queue. */
export function createRouterApp(deps: RouterDeps): RouterApp {
  return { routes: [routerRoute(deps)] };
}
