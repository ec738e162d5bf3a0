export { route, type ServiceRoute, type Visibility } from "./service-routes.js";
export { toWireError, withErrorMapping } from "./errors.js";
export { identityHeaders, identityMetadata, callerFromHeaders, type CallerIdentity } from "./internal-identity.js";
export { addRouteToGrpcServer } from "./grpc-adapter.js";
export { startGrpcServer, type GrpcServerHandle, type GrpcServerOptions } from "./grpc-server.js";
export { startHttpServer, type HttpServerHandle, type HttpServerOptions } from "./http-server.js";
export { createInMemoryTransport } from "./in-memory.js";
export { abortStream, streamAbortKey } from "./stream-abort.js";
