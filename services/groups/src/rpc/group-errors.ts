import type { DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { GroupError, StaleMemberVersionError, type GroupErrorReason } from "../domain/group-error.js";

/** The one place where a group rule's refusal becomes a gRPC status. */
export const groupErrorCodes: Readonly<Record<GroupErrorReason, Code>> = {
  "invalid-argument": Code.InvalidArgument,
  "group-not-found": Code.NotFound,
  "not-a-group": Code.FailedPrecondition,
  "not-a-member": Code.PermissionDenied,
  forbidden: Code.PermissionDenied,
  "user-not-found": Code.NotFound,
  blocked: Code.PermissionDenied,
  "target-not-member": Code.NotFound,
  "already-member": Code.AlreadyExists,
  "group-full": Code.ResourceExhausted,
  "failed-precondition": Code.FailedPrecondition,
  "concurrent-change": Code.Aborted,
};

/**
 * A domain error as the status that crosses the wire (its message is written for callers;
 * the original stays as `cause` for the logs). Anything else is returned as it is: peers'
 * ConnectErrors pass, and unknown errors become INTERNAL in the shared instrumentation.
 */
export function toConnectError(err: unknown): unknown {
  if (err instanceof GroupError) return new ConnectError(err.message, groupErrorCodes[err.reason], undefined, undefined, err);
  if (err instanceof StaleMemberVersionError) return new ConnectError("the group changed concurrently; nothing was changed, try again", Code.Aborted, undefined, undefined, err);
  return err;
}

type UnaryFn = (req: unknown, ctx: unknown) => Promise<unknown>;

/** Wraps every (unary) method of an implementation so that domain errors leave it as statuses. */
export function withGroupErrors<S extends DescService>(impl: ServiceImpl<S>): ServiceImpl<S> {
  const wrapped: Record<string, UnaryFn> = {};
  for (const [name, fn] of Object.entries(impl as Record<string, UnaryFn>)) {
    wrapped[name] = async (req, ctx) => {
      try {
        return await fn.call(impl, req, ctx);
      } catch (err) {
        throw toConnectError(err);
      }
    };
  }
  return wrapped as unknown as ServiceImpl<S>;
}
