import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Message, Presence } from "@messenger/proto/chat/v1/types";

/** Who is who in a direct conversation, for display. */
export interface Participants {
  readonly myUserId: string;
  readonly peerUserId: string;
  readonly peerName: string;
}

/** `[seq] sender: text`, with "me" for messages of the logged-in user (any of their devices). */
export function formatMessage(m: Message, who: Participants): string {
  const sender = m.senderUserId === who.myUserId ? "me" : m.senderUserId === who.peerUserId ? who.peerName : m.senderUserId;
  return `[${m.seq}] ${sender}: ${printable(m.text)}`;
}

/** `bob is online`, `bob was last seen <time>`, or `bob is offline` when never seen. */
export function formatPresence(name: string, p: Presence, now: Date = new Date()): string {
  if (p.online) return `${name} is online`;
  if (!p.lastSeenAt) return `${name} is offline`;
  return `${name} was last seen ${formatTime(timestampDate(p.lastSeenAt), now)}`;
}

/** The time of day for today, else date and time; local time zone. */
export function formatTime(t: Date, now: Date = new Date()): string {
  const sameDay = t.getFullYear() === now.getFullYear() && t.getMonth() === now.getMonth() && t.getDate() === now.getDate();
  const hh = pad(t.getHours());
  const mm = pad(t.getMinutes());
  return sameDay ? `${hh}:${mm}` : `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())} ${hh}:${mm}`;
}

/**
 * Text from other users with control characters made visible, so a message cannot move the
 * cursor, clear the screen or retitle the terminal with escape sequences.
 */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`).replace(/\n/g, "\n    ");
}

function pad(n: number): string {
  return n.toString().padStart(2, "0");
}
