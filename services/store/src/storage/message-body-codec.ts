import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { CiphertextSchema, MediaRefSchema, SystemEventSchema } from "@messenger/proto/chat/v1/types";
import type { MessageBody } from "./history-repository.js";

/** How every adapter stores a body: its kind, text as is, every other kind as its protobuf bytes. */
export interface StoredBody {
  readonly kind: MessageBody["kind"];
  readonly text: string;
  readonly bytes: Uint8Array | null;
}

export function encodeBody(body: MessageBody): StoredBody {
  switch (body.kind) {
    case "text":
      return { kind: "text", text: body.text, bytes: null };
    case "media":
      return { kind: "media", text: "", bytes: toBinary(MediaRefSchema, body.media) };
    case "ciphertext":
      return { kind: "ciphertext", text: "", bytes: toBinary(CiphertextSchema, body.ciphertext) };
    case "system":
      return { kind: "system", text: "", bytes: toBinary(SystemEventSchema, body.system) };
  }
}

/** The body of stored fields; an unknown kind reads as text. */
export function decodeBody(kind: string, text: string, stored: Uint8Array | null): MessageBody {
  // A plain Uint8Array copy (not a Buffer view), so bytes fields decode as Uint8Array like everywhere else.
  const bytes = stored ? new Uint8Array(stored) : new Uint8Array();
  switch (kind) {
    case "media":
      return { kind: "media", media: fromBinary(MediaRefSchema, bytes) };
    case "ciphertext":
      return { kind: "ciphertext", ciphertext: fromBinary(CiphertextSchema, bytes) };
    case "system":
      return { kind: "system", system: fromBinary(SystemEventSchema, bytes) };
    default:
      return { kind: "text", text };
  }
}
