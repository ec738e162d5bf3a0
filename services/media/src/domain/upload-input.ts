import { mediaError } from "./media-error.js";
import type { MediaSettings } from "./media-settings.js";

/** type/subtype, each a restricted-name token (RFC 6838), no parameters. */
const mimeTypePattern = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;
const maxFileNameChars = 255;
const maxConversationIdChars = 128;

/** The raster types the service makes thumbnails of; anything else is a file. */
export const imageMimeTypes: ReadonlySet<string> = new Set(["image/jpeg", "image/png", "image/webp", "image/gif", "image/avif"]);

/** What CreateUpload needs, checked. */
export interface UploadInput {
  readonly conversationId: string;
  readonly fileName: string;
  readonly mimeType: string;
  readonly size: number;
  readonly sha256: string;
}

/**
 * The name a recipient sees: the last path segment (a client may send a full path), no
 * control characters, at most 255 characters.
 */
function cleanFileName(name: string): string {
  const base = name.split(/[/\\]/).pop() ?? "";
  const clean = base.replace(/[\u0000-\u001f\u007f]/g, "").trim();
  if (clean.length === 0 || clean === "." || clean === "..") throw mediaError("invalid_argument", "file_name must name a file");
  if (clean.length > maxFileNameChars) throw mediaError("invalid_argument", `file_name exceeds ${maxFileNameChars} characters`);
  return clean;
}

/** The largest upload of a declared type, and how to say it. */
function sizeLimit(mimeType: string, settings: MediaSettings): { max: number; what: string } {
  return imageMimeTypes.has(mimeType.toLowerCase()) ? { max: settings.maxImageBytes, what: "an image" } : { max: settings.maxFileBytes, what: "a file" };
}

export function checkUploadInput(req: { conversationId: string; fileName: string; mimeType: string; sizeBytes: bigint; sha256: Uint8Array }, settings: MediaSettings): UploadInput {
  if (!req.conversationId || req.conversationId.length > maxConversationIdChars) throw mediaError("invalid_argument", "conversation_id is required");
  const fileName = cleanFileName(req.fileName);
  if (!mimeTypePattern.test(req.mimeType)) throw mediaError("invalid_argument", "mime_type must be a type/subtype such as image/jpeg");
  if (req.sha256.length !== 32) throw mediaError("invalid_argument", "sha256 must be the 32 bytes of the file's SHA-256");
  if (req.sizeBytes < 1n) throw mediaError("invalid_argument", "size_bytes must be at least 1");
  const limit = sizeLimit(req.mimeType, settings);
  if (req.sizeBytes > BigInt(limit.max)) throw mediaError("resource_exhausted", `${limit.what} may be at most ${limit.max} bytes; this one is ${req.sizeBytes}`);
  return { conversationId: req.conversationId, fileName, mimeType: req.mimeType.toLowerCase(), size: Number(req.sizeBytes), sha256: Buffer.from(req.sha256).toString("hex") };
}
