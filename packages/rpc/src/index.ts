export { route, type ServiceRoute, type Visibility } from "./service-routes.js";
export { instrumentRoute, requestIdHeader, toWireError, domainErrorToConnect } from "./errors.js";
export { DomainError, type DomainErrorKind } from "./domain-error.js";
export { createServiceMetrics, type ServiceMetrics } from "./metrics.js";
export { addRouteToGrpcServer } from "./grpc-adapter.js";
export { startGrpcServer, type GrpcServerHandle, type GrpcServerOptions } from "./grpc-server.js";
export { ServingState } from "./health.js";
export { startHttpServer, type HttpRoute, type HttpServerHandle, type HttpServerOptions } from "./http-server.js";
export { createDirectTransport } from "./direct-transport.js";
export { abortStream, onCallAbort } from "./stream-abort.js";
export { CallContext, type CallContextInit } from "./handler-context.js";
export { hostService, type ServiceHost, type ServiceHostOptions } from "./service-host.js";
export { forwardingRoute } from "./forwarding-route.js";
export { runService, peerTransport, type BuiltService, type HostSettings } from "./run-service.js";
export { createGrpcJsTransport, type GrpcJsTransportOptions } from "./grpc-js-transport.js";
export { opsRoutes } from "./ops-routes.js";
export { startOpsServer, type OpsServerOptions } from "./ops-server.js";
export {
  RateLimiter,
  createRateLimiter,
  enforceRateLimit,
  parseRateLimit,
  rateLimitEnv,
  rateLimitCounter,
  rateLimited,
  retryAfterMsOf,
  type Admission,
  type RateLimit,
} from "./rate-limit.js";
export { addressLimitKey, clientAddress, clientAddressHeader, clientAddressKey, trustForwardedClientAddress } from "./client-address.js";
