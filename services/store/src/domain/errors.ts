import { DomainError, type DomainErrorKind } from "@messenger/rpc/domain-error";

/**
 * The store's refusals are the shared DomainError of @messenger/rpc (its transport-free entry
 * point): domain code and adapters raise them, and they map to gRPC statuses in one place
 * (domainErrorToConnect, used by toWireError and by the store's routes).
 */
export { DomainError, type DomainErrorKind };

export const invalidArgument = (message: string): DomainError => new DomainError("invalid_argument", message);
export const notFound = (message: string): DomainError => new DomainError("not_found", message);
export const permissionDenied = (message: string): DomainError => new DomainError("permission_denied", message);
export const failedPrecondition = (message: string): DomainError => new DomainError("failed_precondition", message);
export const aborted = (message: string): DomainError => new DomainError("aborted", message);
