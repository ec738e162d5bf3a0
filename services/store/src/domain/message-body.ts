import type { MessageBody } from "../storage/history-repository.js";
import { invalidArgument } from "./errors.js";
import { limits } from "./limits.js";

/** type/subtype, each a restricted-name token (RFC 6838), optional parameters not allowed. */
const mimeType = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*$/;

/**
 * Checks a body a client sent: exactly one kind, within the limits of domain/limits.ts.
 * A system body is refused: only the store writes those, with the change they describe.
 */
export function validateClientBody(body: MessageBody | undefined): MessageBody {
  if (!body) throw invalidArgument("a message body (text, media or ciphertext) is required");
  switch (body.kind) {
    case "text":
      if (body.text.length === 0) throw invalidArgument("text must not be empty");
      if (body.text.length > limits.maxTextChars) throw invalidArgument(`text exceeds ${limits.maxTextChars} characters`);
      return body;
    case "media": {
      const m = body.media;
      const l = limits.media;
      if (!m.mediaId || m.mediaId.length > l.maxMediaIdChars) throw invalidArgument(`media.media_id must be 1 to ${l.maxMediaIdChars} characters`);
      if (m.mimeType.length > l.maxMimeTypeChars || !mimeType.test(m.mimeType)) {
        throw invalidArgument(`media.mime_type must be a type/subtype of at most ${l.maxMimeTypeChars} characters`);
      }
      if (m.sizeBytes < 1n || m.sizeBytes > BigInt(l.maxSizeBytes)) throw invalidArgument(`media.size_bytes must be 1 to ${l.maxSizeBytes}`);
      if (m.width > l.maxDimension || m.height > l.maxDimension) throw invalidArgument(`media width and height must be at most ${l.maxDimension}`);
      if (m.thumbnail.length > l.maxThumbnailBytes) throw invalidArgument(`media.thumbnail exceeds ${l.maxThumbnailBytes} bytes`);
      if (m.fileName.length > l.maxFileNameChars) throw invalidArgument(`media.file_name exceeds ${l.maxFileNameChars} characters`);
      return body;
    }
    case "ciphertext": {
      const c = body.ciphertext;
      const l = limits.ciphertext;
      if (c.ciphertext.length === 0 || c.ciphertext.length > l.maxBytes) throw invalidArgument(`ciphertext must be 1 to ${l.maxBytes} bytes`);
      if (!c.algorithm || c.algorithm.length > l.maxAlgorithmChars) throw invalidArgument(`ciphertext.algorithm must be 1 to ${l.maxAlgorithmChars} characters`);
      if (!c.senderKeyId || c.senderKeyId.length > l.maxSenderKeyIdChars) {
        throw invalidArgument(`ciphertext.sender_key_id must be 1 to ${l.maxSenderKeyIdChars} characters`);
      }
      return body;
    }
    case "system":
      throw invalidArgument("clients cannot send system messages");
  }
}
