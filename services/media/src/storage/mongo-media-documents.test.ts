import { BSON } from "mongodb";
import { describe, expect, it } from "vitest";
import type { MediaRecord, ReadyMedia } from "./media-repository.js";
import { toPendingDoc, toReadyDoc, toRecord, type MediaDoc } from "./mongo-media-documents.js";

/*
 * The documents as they cross the wire: encoded to BSON and read back with the driver's
 * default options, as a server would hand them back. Runs everywhere; the adapter's calls on
 * a real server are in mongo-media-repository.test.ts, when MONGODB_URI is set.
 */
const roundTrip = (doc: MediaDoc): MediaDoc => BSON.deserialize(BSON.serialize(doc)) as MediaDoc;

const upload: MediaRecord = {
  id: "m_0123456789abcdef0123456789abcdef",
  conversationId: "grp_1",
  uploaderUserId: "u_alice",
  fileName: "holiday ✓.png",
  declaredMimeType: "image/png",
  // Past int32 and past 2^32: BSON keeps it as a double, still exact.
  declaredSize: 5_000_000_123,
  sha256: "ab".repeat(32),
  createdAt: 1_766_000_000_123,
  uploadExpiresAt: 1_766_000_900_123,
};

describe("media documents", () => {
  it("read back a pending upload as it was recorded", () => {
    const doc = roundTrip(toPendingDoc(upload));
    expect(doc.state).toBe("pending");
    expect(toRecord(doc)).toEqual(upload);
    expect(toRecord(doc).ready).toBeUndefined();
  });

  it("read back a completed image with its thumbnail and its preview as a plain Uint8Array of exactly its bytes", () => {
    const ready: ReadyMedia = {
      mimeType: "image/png",
      size: 2_000,
      width: 4_000,
      height: 3_000,
      preview: new Uint8Array([0, 1, 2, 250, 255]),
      originalKey: `media/${upload.id}/original`,
      thumbnail: { key: `media/${upload.id}/thumbnail`, mimeType: "image/webp", size: 120 },
      completedAt: 1_766_000_100_000,
    };
    const record = toRecord(roundTrip({ ...toPendingDoc(upload), state: "ready", ready: toReadyDoc(ready), lastResolvedAt: 1_766_000_200_000 }));
    expect(record).toEqual({ ...upload, ready, lastResolvedAt: 1_766_000_200_000 });
    expect(Buffer.isBuffer(record.ready?.preview)).toBe(false);
    expect(record.ready?.preview.byteLength).toBe(5);
  });

  it("read back a completed file with no thumbnail and an empty preview", () => {
    const ready: ReadyMedia = { mimeType: "application/pdf", size: 10, width: 0, height: 0, preview: new Uint8Array(), originalKey: "media/x/original", completedAt: 5 };
    const record = toRecord(roundTrip({ ...toPendingDoc(upload), state: "ready", ready: toReadyDoc(ready) }));
    expect(record.ready).toEqual(ready);
    expect(record.ready?.thumbnail).toBeUndefined();
    expect(record.lastResolvedAt).toBeUndefined();
  });
});
