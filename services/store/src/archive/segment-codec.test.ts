import { create, toBinary } from "@bufbuild/protobuf";
import { MessageSchema } from "@messenger/proto/chat/v1/types";
import { ArchiveSegmentSchema, type ArchiveSegment } from "@messenger/proto/store/v1/archive_segment";
import { brotliCompressSync, brotliDecompressSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { messageToProto } from "../rpc/convert.js";
import type { MessageRecord } from "../storage/history-repository.js";
import { decodeSegment, encodeSegment, SegmentCorruptError, sha256Hex, type SegmentCorruptReason } from "./segment-codec.js";
import type { SegmentExpectation } from "./segment-index.js";
import { messagesOfEveryKind, textMessage } from "./test-messages.js";

const conversation = "grp_codec";

/** Compresses a hand-made segment, so a test can store well-formed bytes that lie. */
function seal(segment: ArchiveSegment): { bytes: Uint8Array; sha256: string } {
  const bytes = new Uint8Array(brotliCompressSync(toBinary(ArchiveSegmentSchema, segment)));
  return { bytes, sha256: sha256Hex(bytes) };
}

function segmentOf(messages: readonly MessageRecord[], header: { conversationId?: string; fromSeq: number; toSeq: number }): ArchiveSegment {
  return create(ArchiveSegmentSchema, {
    conversationId: header.conversationId ?? conversation,
    fromSeq: BigInt(header.fromSeq),
    toSeq: BigInt(header.toSeq),
    messages: messages.map(messageToProto),
  });
}

async function expectCorrupt(promise: Promise<unknown>, reason: SegmentCorruptReason, detail: RegExp): Promise<SegmentCorruptError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, "decoding must fail, never return messages").toBeInstanceOf(SegmentCorruptError);
  const corrupt = err as SegmentCorruptError;
  expect(corrupt.reason).toBe(reason);
  expect(corrupt.message).toMatch(detail);
  return corrupt;
}

describe("encodeSegment and decodeSegment", () => {
  it("round trips messages of every body kind, with seq gaps, to identical records", async () => {
    const messages = messagesOfEveryKind(conversation, [3, 4, 7, 10]);
    const encoded = await encodeSegment(conversation, messages);
    expect(encoded).toMatchObject({ fromSeq: 3, toSeq: 10, count: 4, firstSentAt: messages[0]?.sentAt, lastSentAt: messages[3]?.sentAt });
    expect(encoded.sha256).toBe(sha256Hex(encoded.bytes));

    const decoded = await decodeSegment(encoded.bytes, { conversationId: conversation, fromSeq: 3, toSeq: 10, sha256: encoded.sha256, count: 4 });
    expect(decoded).toEqual(messages);
  });

  it("stores brotli-compressed protobuf, smaller than the protobuf for chat-like text", async () => {
    const messages = Array.from({ length: 200 }, (_, i) => textMessage(conversation, i + 1, { body: { kind: "text", text: `see you at the station at ${i % 12} o'clock` } }));
    const encoded = await encodeSegment(conversation, messages);
    const raw = brotliDecompressSync(encoded.bytes);
    expect(raw).toEqual(Buffer.from(toBinary(ArchiveSegmentSchema, segmentOf(messages, { fromSeq: 1, toSeq: 200 }))));
    expect(encoded.bytes.byteLength).toBeLessThan(raw.byteLength / 3);
  });

  it("records the earliest and latest sent time even when they are not at the ends", async () => {
    const messages = [
      textMessage(conversation, 1, { sentAt: 5_000 }),
      textMessage(conversation, 2, { sentAt: 1_000 }),
      textMessage(conversation, 3, { sentAt: 9_000 }),
      textMessage(conversation, 4, { sentAt: 7_000 }),
    ];
    expect(await encodeSegment(conversation, messages)).toMatchObject({ firstSentAt: 1_000, lastSentAt: 9_000 });
  });

  it("refuses to encode nothing, another conversation's message, or seqs that do not ascend", async () => {
    await expect(encodeSegment(conversation, [])).rejects.toThrow(RangeError);
    await expect(encodeSegment(conversation, [textMessage(conversation, 1), textMessage("grp_other", 2)])).rejects.toThrow(/grp_other/);
    await expect(encodeSegment(conversation, [textMessage(conversation, 2), textMessage(conversation, 2)])).rejects.toThrow(RangeError);
    await expect(encodeSegment(conversation, [textMessage(conversation, 3), textMessage(conversation, 1)])).rejects.toThrow(RangeError);
  });
});

describe("decodeSegment refuses a corrupt segment with a clear error and no messages", () => {
  const messages = [textMessage(conversation, 1), textMessage(conversation, 2), textMessage(conversation, 5)];
  const expectationFor = (sealed: { sha256: string }, over: Partial<SegmentExpectation> = {}): SegmentExpectation => ({
    key: "archive/v1/grp_codec/1-5-0000000000000000.seg",
    conversationId: conversation,
    fromSeq: 1,
    toSeq: 5,
    sha256: sealed.sha256,
    count: 3,
    ...over,
  });

  it("a flipped byte fails the checksum, before decompression, naming key and range", async () => {
    const encoded = await encodeSegment(conversation, messages);
    const flipped = Uint8Array.from(encoded.bytes);
    flipped[flipped.length >> 1] = (flipped[flipped.length >> 1] ?? 0) ^ 0x01;
    const err = await expectCorrupt(decodeSegment(flipped, expectationFor(encoded)), "checksum", /sha256/);
    expect(err.message).toContain("archive/v1/grp_codec/1-5-0000000000000000.seg");
    expect(err.message).toContain(`conversation ${conversation}, seqs 1..5`);
  });

  it("a checksum that matches bytes that are not brotli fails decompression", async () => {
    const garbage = new Uint8Array([0xff, 0x00, 0x13, 0x37, 0x42, 0x99, 0x10]);
    await expectCorrupt(decodeSegment(garbage, expectationFor({ sha256: sha256Hex(garbage) })), "decompress", /brotli/);
  });

  it("brotli of bytes that are not an ArchiveSegment fails decoding", async () => {
    const bytes = new Uint8Array(brotliCompressSync(Buffer.from([0xff, 0xff, 0xff, 0xff])));
    await expectCorrupt(decodeSegment(bytes, expectationFor({ sha256: sha256Hex(bytes) })), "decode", /protobuf/);
  });

  it("a segment of another conversation or range than its index entry fails the header check", async () => {
    const sealed = seal(segmentOf(messages, { fromSeq: 1, toSeq: 5 }));
    await expectCorrupt(decodeSegment(sealed.bytes, expectationFor(sealed, { conversationId: "grp_elsewhere" })), "header", /grp_codec/);
    await expectCorrupt(decodeSegment(sealed.bytes, expectationFor(sealed, { toSeq: 6 })), "header", /1\.\.5/);
  });

  it("a message of another conversation fails the message check", async () => {
    const sealed = seal(segmentOf([messages[0], textMessage("grp_intruder", 2)] as MessageRecord[], { fromSeq: 1, toSeq: 5 }));
    await expectCorrupt(decodeSegment(sealed.bytes, expectationFor(sealed, { count: 2 })), "message", /grp_intruder/);
  });

  it("messages out of order, repeated or outside the range fail the message check", async () => {
    const [one, two, five] = messages as [MessageRecord, MessageRecord, MessageRecord];
    for (const order of [[two, one, five], [one, one, five], [one, two, textMessage(conversation, 6)], [textMessage(conversation, 0), two, five]]) {
      const sealed = seal(segmentOf(order, { fromSeq: 1, toSeq: 5 }));
      await expectCorrupt(decodeSegment(sealed.bytes, expectationFor(sealed)), "message", /seq/);
    }
  });

  it("a message without a body fails the message check", async () => {
    const segment = segmentOf(messages, { fromSeq: 1, toSeq: 5 });
    const bodiless = create(MessageSchema, segment.messages[1]);
    bodiless.body = { case: undefined };
    segment.messages[1] = bodiless;
    const sealed = seal(segment);
    await expectCorrupt(decodeSegment(sealed.bytes, expectationFor(sealed)), "message", /no body/);
  });

  it("a segment holding another number of messages than its index entry fails the count check", async () => {
    const sealed = seal(segmentOf(messages, { fromSeq: 1, toSeq: 5 }));
    await expectCorrupt(decodeSegment(sealed.bytes, expectationFor(sealed, { count: 4 })), "count", /3 messages, the index says 4/);
  });
});
