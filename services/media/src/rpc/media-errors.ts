import { Code, ConnectError } from "@connectrpc/connect";
import { MediaError, type MediaErrorReason } from "../domain/media-error.js";

/** The one place where a media rule's refusal becomes a gRPC status. */
export const mediaErrorCodes: Readonly<Record<MediaErrorReason, Code>> = {
  "invalid-argument": Code.InvalidArgument,
  "bad-upload": Code.InvalidArgument,
  "not-a-member": Code.PermissionDenied,
  "not-found": Code.NotFound,
  "failed-precondition": Code.FailedPrecondition,
  "resource-exhausted": Code.ResourceExhausted,
};

/** A media refusal as the status that crosses the wire; anything else passes as it is. */
export function toConnectError(err: unknown): unknown {
  if (err instanceof MediaError) return new ConnectError(err.message, mediaErrorCodes[err.reason], undefined, undefined, err);
  return err;
}

/** Runs a handler body, turning media refusals into statuses. */
export async function withMediaErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw toConnectError(err);
  }
}
