import { Health } from "@messenger/proto/grpc/health/v1/health";
import { ServerReflection } from "@messenger/proto/grpc/reflection/v1/reflection";
import { ServerReflection as ServerReflectionV1alpha } from "@messenger/proto/grpc/reflection/v1alpha/reflection";
import { healthRoute, type ServingState } from "./health.js";
import { ReflectionSchema, reflectionRoutes } from "./reflection.js";
import type { ServiceRoute } from "./service-routes.js";

/**
 * A listener's routes plus the standard services every listener serves, over gRPC and
 * Connect alike: grpc.health.v1 for those routes (driven by the process's one serving
 * state) and server reflection (v1 and v1alpha) describing exactly what is mounted here,
 * so internal services stay invisible on public ports.
 */
export function withStandardServices(routes: readonly ServiceRoute[], serving: ServingState): ServiceRoute[] {
  const schema = new ReflectionSchema([...routes.map((r) => r.service), Health, ServerReflection, ServerReflectionV1alpha]);
  return [...routes, healthRoute(routes.map((r) => r.service.typeName), serving), ...reflectionRoutes(schema)];
}
