import type { DescService } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";

/** Public services face clients (they verify access tokens); internal ones trust metadata. */
export type Visibility = "public" | "internal";

/** One service implementation, ready for any transport. */
export interface ServiceRoute {
  readonly service: DescService;
  readonly impl: Partial<ServiceImpl<DescService>>;
  readonly visibility: Visibility;
}

/** Pairs a service descriptor with its implementation, checking the implementation's type. */
export function route<S extends DescService>(service: S, impl: ServiceImpl<S>, visibility: Visibility): ServiceRoute {
  return { service, impl: impl as unknown as Partial<ServiceImpl<DescService>>, visibility };
}
