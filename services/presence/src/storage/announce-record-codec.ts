import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { PresenceSchema } from "@messenger/proto/chat/v1/types";
import type { AnnounceRecord } from "../domain/announce-window.js";
import { presenceToProto, type PresenceState } from "../domain/presence-state.js";

/*
 * The stored form of an announcement record is the protobuf wire form of
 *
 *   message PresenceAnnouncement {
 *     messenger.chat.v1.Presence announced = 1;  // unset before the first announcement
 *     messenger.chat.v1.Presence pending = 2;    // unset when nothing is held
 *     int64 window_ends_at_ms = 3;
 *   }
 *
 * written here by hand around the generated Presence codec until the message is declared in
 * proto/messenger/bus/v1/events.proto; the generated codec then reads the same bytes.
 */

const toState = (bytes: Uint8Array): PresenceState => {
  const p = fromBinary(PresenceSchema, bytes);
  return { userId: p.userId, online: p.online, lastSeenAt: p.lastSeenAt ? timestampMs(p.lastSeenAt) : 0 };
};

/** Encodes a record for the board's bucket. */
export function encodeAnnounceRecord(record: AnnounceRecord): Uint8Array {
  const w = new BinaryWriter();
  if (record.announced) w.tag(1, WireType.LengthDelimited).bytes(toBinary(PresenceSchema, create(PresenceSchema, presenceToProto(record.announced))));
  if (record.pending) w.tag(2, WireType.LengthDelimited).bytes(toBinary(PresenceSchema, create(PresenceSchema, presenceToProto(record.pending))));
  if (record.windowEndsAt !== 0) w.tag(3, WireType.Varint).int64(Math.trunc(record.windowEndsAt));
  return w.finish();
}

/** Decodes a stored record; throws on bytes that are not one. Unknown fields are skipped (a newer writer). */
export function decodeAnnounceRecord(bytes: Uint8Array): AnnounceRecord {
  const r = new BinaryReader(bytes);
  let announced: PresenceState | undefined;
  let pending: PresenceState | undefined;
  let windowEndsAt = 0;
  while (r.pos < r.len) {
    const [field, wireType] = r.tag();
    if (field === 1 && wireType === WireType.LengthDelimited) announced = toState(r.bytes());
    else if (field === 2 && wireType === WireType.LengthDelimited) pending = toState(r.bytes());
    else if (field === 3 && wireType === WireType.Varint) windowEndsAt = Number(r.int64());
    else r.skip(wireType, field);
  }
  return { announced, pending, windowEndsAt };
}
