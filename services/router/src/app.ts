import type { Client } from "@connectrpc/connect";
import type { Bus, SessionRegistry } from "@messenger/bus";
import type { StoreService } from "@messenger/proto/store/v1/store_service";
import type { ServiceRoute } from "@messenger/rpc";
import { routerRoute } from "./rpc/router-service.js";

/** The router service, ready to mount on any transport. */
export interface RouterApp {
  readonly routes: ServiceRoute[];
}

/** Composes the router from a store client, the bus and the session registry. */
export function createRouterApp(deps: { store: Client<typeof StoreService>; bus: Bus; registry: SessionRegistry }): RouterApp {
  return { routes: [routerRoute(deps)] };
}
