import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { PresenceAnnouncementSchema } from "@messenger/proto/bus/v1/events";
import type { Presence } from "@messenger/proto/chat/v1/types";
import type { AnnounceRecord } from "../domain/announce-window.js";
import { presenceToProto, type PresenceState } from "../domain/presence-state.js";

/*
 * The stored form of an announcement record is messenger.bus.v1.PresenceAnnouncement
 * (proto/messenger/bus/v1/events.proto). Records written before that message was declared
 * were encoded by hand to the same wire form, so they decode here unchanged.
 */

const toState = (p: Presence): PresenceState => ({ userId: p.userId, online: p.online, lastSeenAt: p.lastSeenAt ? timestampMs(p.lastSeenAt) : 0 });

/** Encodes a record for the board's bucket. */
export function encodeAnnounceRecord(record: AnnounceRecord): Uint8Array {
  return toBinary(
    PresenceAnnouncementSchema,
    create(PresenceAnnouncementSchema, {
      ...(record.announced ? { announced: presenceToProto(record.announced) } : {}),
      ...(record.pending ? { pending: presenceToProto(record.pending) } : {}),
      // int64 takes whole numbers only; the window's end is a clock reading in ms.
      windowEndsAtMs: BigInt(Math.trunc(record.windowEndsAt)),
    }),
  );
}

/** Decodes a stored record; throws on bytes that are not one. Unknown fields are skipped (a newer writer). */
export function decodeAnnounceRecord(bytes: Uint8Array): AnnounceRecord {
  const m = fromBinary(PresenceAnnouncementSchema, bytes);
  return {
    announced: m.announced ? toState(m.announced) : undefined,
    pending: m.pending ? toState(m.pending) : undefined,
    windowEndsAt: Number(m.windowEndsAtMs),
  };
}
