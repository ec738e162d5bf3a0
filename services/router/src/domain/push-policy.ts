import type { SessionIndex } from "./session-index.js";

/** A recipient to tell about a message, and their devices that had a live session then. */
export interface PushRecipient {
  readonly userId: string;
  readonly liveDeviceIds: readonly string[];
}

/**
 * Who is a push candidate for a message: every recipient except its author (whose own sends
 * need no notification), whether or not they have a live session, each with the devices that
 * have one. The push worker decides per device: a phone offline while the laptop is online
 * still needs a push, which a per-user "has a session" test would have hidden.
 */
export function pushRecipients(recipients: readonly string[], authorUserId: string, sessions: SessionIndex): PushRecipient[] {
  return recipients.filter((u) => u !== authorUserId).map((userId) => ({ userId, liveDeviceIds: sessions.liveDevices(userId) }));
}
