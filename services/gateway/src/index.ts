export { createGatewayApp, type GatewayApp } from "./app.js";
export { Gateway, type GatewaySettings, type GatewayStats } from "./gateway.js";
