import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { PresenceSchema } from "@messenger/proto/chat/v1/types";

/** A user's presence as the tracker knows it. Times are epoch milliseconds. */
export interface PresenceState {
  readonly userId: string;
  readonly online: boolean;
  /** 0 while online or when never seen. */
  readonly lastSeenAt: number;
}

/** The proto shape of a presence state. */
export function presenceToProto(s: PresenceState): MessageInitShape<typeof PresenceSchema> {
  return { userId: s.userId, online: s.online, ...(s.lastSeenAt > 0 ? { lastSeenAt: timestampFromMs(s.lastSeenAt) } : {}) };
}
