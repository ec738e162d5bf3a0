import { create } from "@bufbuild/protobuf";
import { MediaRefSchema, MessageSchema } from "@messenger/proto/chat/v1/types";
import { describe, expect, it } from "vitest";
import { formatBytes, formatMedia, formatMessage, printable, type Names } from "./format.js";

const names: Names = { myUserId: "me", nameOf: (id) => ({ b: "bob" })[id] ?? id };

describe("message lines", () => {
  it("makes control characters in message text visible", () => {
    expect(printable("hi\u001b[2J\u0007there\r")).toBe("hi\\u001b[2J\\u0007there\\u000d");
    expect(printable("a\tb\nc")).toBe("a\tb\n    c");
  });

  it("renders each kind of body, replies, and system messages", () => {
    const m = (seq: bigint, senderUserId: string, body: Parameters<typeof create<typeof MessageSchema>>[1]) =>
      create(MessageSchema, { conversationId: "c", seq, senderUserId, ...body });
    expect(formatMessage(m(1n, "b", { body: { case: "text", value: "hi" } }), names)).toBe("[1] bob: hi");
    expect(formatMessage(m(2n, "me", { body: { case: "text", value: "yes" }, replyToSeq: 1n }), names)).toBe("[2] me (reply to 1): yes");
    expect(
      formatMessage(m(3n, "b", { body: { case: "media", value: { mimeType: "image/png", width: 640, height: 480, fileName: "cat.png", sizeBytes: 12_600n } } }), names),
    ).toBe("[3] bob: [image 640×480 cat.png, 12.3 KB]");
    expect(formatMessage(m(4n, "b", { body: { case: "media", value: { mimeType: "application/pdf", sizeBytes: 100n } } }), names)).toBe("[4] bob: [file, 100 B]");
    expect(formatMedia(create(MediaRefSchema, { mimeType: "application/pdf", fileName: "report.pdf", sizeBytes: 1_258_291n }))).toBe("[file report.pdf, 1.2 MB]");
    // A file name cannot move the cursor either.
    expect(formatMedia(create(MediaRefSchema, { mimeType: "text/plain", fileName: "a\u001b[2Jb.txt", sizeBytes: 5n }))).toBe("[file a\\u001b[2Jb.txt, 5 B]");
    // An image the server could not measure is still called an image, without a size.
    expect(formatMedia(create(MediaRefSchema, { mimeType: "image/gif", fileName: "x.gif", sizeBytes: 2048n }))).toBe("[image x.gif, 2.0 KB]");
    expect(formatMessage(m(5n, "b", { body: { case: "ciphertext", value: { algorithm: "signal-v1" } } }), names)).toBe("[5] bob: [encrypted message]");
    expect(formatMessage(m(6n, "b", { body: { case: "system", value: { actorUserId: "b", event: { case: "memberLeft", value: { userId: "b" } } } } }), names)).toBe("[6] -- bob left");
    expect(formatMessage(m(7n, "me", { body: { case: "system", value: { actorUserId: "me", event: { case: "membersAdded", value: { userIds: ["b"] } } } } }), names)).toBe(
      "[7] -- you added bob",
    );
  });

  it("sizes in the largest unit under 1024", () => {
    expect([0n, 1023n, 1024n, 1_572_864n].map(formatBytes)).toEqual(["0 B", "1023 B", "1.0 KB", "1.5 MB"]);
  });
});
