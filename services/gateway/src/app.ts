import type { ServiceRoute } from "@messenger/rpc";
import { Gateway, type GatewayDeps, type GatewaySettings } from "./gateway.js";

/** The gateway service, ready to mount on any transport. */
export interface GatewayApp {
  readonly routes: ServiceRoute[];
  readonly gateway: Gateway;
  close(): Promise<void>;
}

/** Composes a gateway from its clients of router, store and presence, and the bus. */
export function createGatewayApp(deps: GatewayDeps, settings: GatewaySettings): GatewayApp {
  const gateway = new Gateway(deps, settings);
  return { routes: [gateway.route()], gateway, close: () => gateway.close() };
}
