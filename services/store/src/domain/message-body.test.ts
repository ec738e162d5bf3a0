import { create } from "@bufbuild/protobuf";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { CiphertextSchema, MediaRefSchema, SystemEventSchema } from "@messenger/proto/chat/v1/types";
import { describe, expect, it } from "vitest";
import type { MessageBody } from "../storage/history-repository.js";
import { limits } from "./limits.js";
import { validateClientBody } from "./message-body.js";

const media = (over: MessageInitShape<typeof MediaRefSchema> = {}): MessageBody => ({
  kind: "media",
  media: create(MediaRefSchema, { mediaId: "m1", mimeType: "image/jpeg", sizeBytes: 1000n, width: 640, height: 480, fileName: "a.jpg", ...over }),
});
const cipher = (over: MessageInitShape<typeof CiphertextSchema> = {}): MessageBody => ({
  kind: "ciphertext",
  ciphertext: create(CiphertextSchema, { ciphertext: new Uint8Array(10), algorithm: "signal-v1", senderKeyId: "k1", ...over }),
});
const refusal = (body: MessageBody | undefined) => {
  try {
    validateClientBody(body);
  } catch (err) {
    return err as { kind: string; message: string };
  }
  return undefined;
};

describe("validateClientBody", () => {
  it("accepts a text, a media reference and a ciphertext within the limits", () => {
    for (const body of [{ kind: "text", text: "x".repeat(limits.maxTextChars) } as const, media(), media({ mimeType: "application/vnd.ms-excel", width: 0, height: 0, thumbnail: new Uint8Array(8192) }), cipher({ ciphertext: new Uint8Array(65_536) })]) {
      expect(validateClientBody(body)).toBe(body);
    }
  });

  it.each([
    ["no body at all", undefined, /body .* is required/],
    ["empty text", { kind: "text", text: "" } as MessageBody, /text must not be empty/],
    ["text over 16384 characters", { kind: "text", text: "x".repeat(16_385) } as MessageBody, /text exceeds 16384/],
    ["an empty media_id", media({ mediaId: "" }), /media_id/],
    ["a media_id over 128 characters", media({ mediaId: "m".repeat(129) }), /media_id/],
    ["a mime_type without subtype", media({ mimeType: "image" }), /mime_type/],
    ["a mime_type with spaces", media({ mimeType: "image/ png" }), /mime_type/],
    ["a mime_type over 127 characters", media({ mimeType: `image/${"x".repeat(122)}` }), /mime_type/],
    ["a zero size", media({ sizeBytes: 0n }), /size_bytes/],
    ["a size over 100 MiB", media({ sizeBytes: 100n * 1024n * 1024n + 1n }), /size_bytes/],
    ["a width over 65535", media({ width: 65_536 }), /width and height/],
    ["a height over 65535", media({ height: 65_536 }), /width and height/],
    ["a thumbnail over 8 KiB", media({ thumbnail: new Uint8Array(8193) }), /thumbnail/],
    ["a file_name over 255 characters", media({ fileName: "f".repeat(256) }), /file_name/],
    ["empty ciphertext", cipher({ ciphertext: new Uint8Array() }), /ciphertext must be 1 to 65536 bytes/],
    ["ciphertext over 64 KiB", cipher({ ciphertext: new Uint8Array(65_537) }), /ciphertext must be 1 to 65536 bytes/],
    ["an empty algorithm", cipher({ algorithm: "" }), /algorithm/],
    ["an algorithm over 64 characters", cipher({ algorithm: "a".repeat(65) }), /algorithm/],
    ["an empty sender_key_id", cipher({ senderKeyId: "" }), /sender_key_id/],
    ["a sender_key_id over 128 characters", cipher({ senderKeyId: "k".repeat(129) }), /sender_key_id/],
    ["a system body", { kind: "system", system: create(SystemEventSchema, { actorUserId: "mallory" }) } as MessageBody, /clients cannot send system messages/],
  ])("refuses %s with INVALID_ARGUMENT", (_what, body, message) => {
    const err = refusal(body);
    expect(err?.kind).toBe("invalid_argument");
    expect(err?.message).toMatch(message);
  });
});
