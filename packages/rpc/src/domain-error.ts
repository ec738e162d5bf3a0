/**
 * The outcomes a use case can refuse with, named for what the caller did wrong, not for a
 * transport. Each maps to exactly one gRPC status in toWireError.
 */
export type DomainErrorKind =
  | "invalid_argument"
  | "unauthenticated"
  | "not_found"
  | "already_exists"
  | "permission_denied"
  | "failed_precondition"
  | "aborted"
  | "out_of_range"
  | "resource_exhausted"
  | "unavailable"
  /** Stored data the call needs cannot be read back intact (a corrupt or missing archive segment). */
  | "data_loss";

/**
 * A refusal raised by domain code (pure use cases carry no transport types). Its message is
 * meant for the caller and crosses the wire as it is; `cause` stays in the logs.
 */
export class DomainError extends Error {
  override readonly name = "DomainError";

  constructor(
    readonly kind: DomainErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
