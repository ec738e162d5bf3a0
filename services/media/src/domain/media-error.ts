/**
 * Why the media service refused a request. Closed set: the rpc layer maps each reason to
 * one gRPC code (src/rpc/media-errors.ts), so the rules never speak gRPC.
 */
export type MediaErrorReason =
  /** Malformed whatever the state: lengths, sizes, a sha256 that is not 32 bytes. */
  | "invalid-argument"
  /** The bytes do not match what was declared, or are not what they claim to be. */
  | "bad-upload"
  /** Not a member of the conversation the upload is for. */
  | "not-a-member"
  /** No such media for this caller (also what a guessed id or a forbidden download gets). */
  | "not-found"
  /** Right media, wrong state: nothing uploaded yet, or not completed. */
  | "failed-precondition"
  /** Over a size limit, the daily quota, or the processing queue. */
  | "resource-exhausted";

export class MediaError extends Error {
  constructor(
    readonly reason: MediaErrorReason,
    message: string,
  ) {
    super(message);
    this.name = "MediaError";
  }
}

export const mediaError = (reason: MediaErrorReason, message: string): MediaError => new MediaError(reason, message);
