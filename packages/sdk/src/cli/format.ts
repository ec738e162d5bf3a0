import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { MediaRef, Message, Presence } from "@messenger/proto/chat/v1/types";
import { printable } from "./printable.js";
import { describeSystemEvent } from "./system-event.js";

export { printable };

/** Who is who in a direct conversation, for display. */
export interface Participants {
  readonly myUserId: string;
  readonly peerUserId: string;
  readonly peerName: string;
}

/** How a conversation's view names users: the logged-in user, and a name for any id. */
export interface Names {
  readonly myUserId: string;
  /** A printable name for a user id (the id itself when unknown). */
  nameOf(userId: string): string;
}

/** The names of a direct conversation: the peer by name, anyone else by id. */
export function directNames(who: Participants): Names {
  return { myUserId: who.myUserId, nameOf: (id) => (id === who.peerUserId ? who.peerName : id) };
}

/**
 * One message as a line: `[seq] sender: body`, with "me" for messages of the logged-in user
 * (any of their devices) and `(reply to N)` after the sender of a reply; a system message is
 * `[seq] -- what changed`, naming the logged-in user "you".
 */
export function formatMessage(m: Message, names: Names): string {
  if (m.body.case === "system") {
    const nameOf = (id: string): string => (id === names.myUserId ? "you" : names.nameOf(id));
    return `[${m.seq}] -- ${describeSystemEvent(m.body.value, nameOf)}`;
  }
  const sender = m.senderUserId === names.myUserId ? "me" : names.nameOf(m.senderUserId);
  const reply = m.replyToSeq > 0n ? ` (reply to ${m.replyToSeq})` : "";
  return `[${m.seq}] ${sender}${reply}: ${formatBody(m)}`;
}

/** The body of a non-system message: its text, or a bracketed note for media and ciphertext. */
export function formatBody(m: Message): string {
  switch (m.body.case) {
    case "text":
      return printable(m.body.value);
    case "media":
      return formatMedia(m.body.value);
    case "ciphertext":
      return "[encrypted message]";
    case "system":
      return "[system message]";
    case undefined:
      return "[empty message]";
  }
}

/** `[image 640×480 cat.png, 12.3 KB]` or `[file report.pdf, 1.2 MB]` (× is U+00D7). */
export function formatMedia(media: MediaRef): string {
  const image = media.mimeType.startsWith("image/");
  const kind = image ? (media.width > 0 && media.height > 0 ? `image ${media.width}×${media.height}` : "image") : "file";
  const name = media.fileName !== "" ? ` ${printable(media.fileName)}` : "";
  return `[${kind}${name}, ${formatBytes(media.sizeBytes)}]`;
}

/** Bytes in the largest unit under 1024: "512 B", "12.3 KB", "1.2 MB". */
export function formatBytes(n: bigint): string {
  if (n < 1024n) return `${n} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let v = Number(n) / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

/** `bob is online`, `bob was last seen <time>`, or `bob is offline` when never seen. */
export function formatPresence(name: string, p: Presence, now: Date = new Date()): string {
  if (p.hidden) return `${name}'s presence is not shown`;
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

function pad(n: number): string {
  return n.toString().padStart(2, "0");
}
