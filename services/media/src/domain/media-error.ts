import { DomainError, type DomainErrorKind } from "@messenger/rpc/domain-error";

/**
 * The media service's refusals are the shared DomainError of @messenger/rpc: toWireError
 * turns them into statuses for the RPCs, domainErrorToConnect for ResolveMedia's per-item
 * answers. A refused upload (bytes that are not what was declared, an unusable image) is
 * invalid_argument; over a limit, a quota or the processing queue, resource_exhausted.
 */
export { DomainError };

export const mediaError = (kind: DomainErrorKind, message: string): DomainError => new DomainError(kind, message);
