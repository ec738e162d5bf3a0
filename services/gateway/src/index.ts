export { createGatewayApp, type GatewayApp } from "./app.js";
export { Gateway, type GatewaySettings } from "./gateway.js";
export { gatewayLimits, gatewayLimitsEnv } from "./limits-env.js";
