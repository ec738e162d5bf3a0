import { describe, expect, it } from "vitest";
import type { AnnounceRecord } from "../domain/announce-window.js";
import { decodeAnnounceRecord, encodeAnnounceRecord } from "./announce-record-codec.js";

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, "hex"));

// Bytes the hand-written codec (before PresenceAnnouncement was declared in events.proto)
// produced for these records: records already in a board's bucket must still read the same.
const written: { name: string; record: AnnounceRecord; bytes: string }[] = [
  { name: "an empty record", record: { announced: undefined, pending: undefined, windowEndsAt: 0 }, bytes: "" },
  {
    name: "an announced online state with an offline change held",
    record: {
      announced: { userId: "alice", online: true, lastSeenAt: 0 },
      pending: { userId: "alice", online: false, lastSeenAt: 1_763_700_000_123 },
      windowEndsAt: 1_763_700_005_000,
    },
    bytes: "0a090a05616c696365100112140a05616c6963651a0b08a0daffc80610c0a9d33a1888b1d9a5aa33",
  },
  {
    name: "an announced last seen and an open window, nothing held",
    record: { announced: { userId: "bob", online: false, lastSeenAt: 1_700_000_000_000 }, pending: undefined, windowEndsAt: 1_700_000_030_000 },
    bytes: "0a0d0a03626f621a060880e2cfaa0618b0ba97ffbc31",
  },
];

describe("announcement record codec", () => {
  for (const { name, record, bytes } of written) {
    it(`reads ${name} as the hand-written codec stored it`, () => {
      expect(decodeAnnounceRecord(hex(bytes))).toEqual(record);
    });
    it(`writes ${name} to the same bytes as before`, () => {
      expect(Buffer.from(encodeAnnounceRecord(record)).toString("hex")).toBe(bytes);
    });
  }

  it("skips a field a newer writer added", () => {
    // Field 15, varint 1, appended to a known record.
    const bytes = hex(`${written[2]!.bytes}7801`);
    expect(decodeAnnounceRecord(bytes)).toEqual(written[2]!.record);
  });

  it("throws on bytes that are not a record", () => {
    expect(() => decodeAnnounceRecord(hex("0aff"))).toThrow();
  });
});
