import { RetentionMode, type Conversation } from "@messenger/proto/chat/v1/types";
import type { MessengerClient } from "../client.js";
import { formatDuration } from "./system-event.js";

export const retentionHelp = `  /retention      how long the server keeps this conversation's messages
  /retention 1h   make them disappear 1h after they are sent (5m to 90d: m, h, d, w); /retention off keeps them
  /retention delivered   delete them from the server once every device of the members has them`;

const unitSeconds: Record<string, number> = { m: 60, h: 3_600, d: 86_400, w: 7 * 86_400 };

/** `off`/`permanent`/`keep`, `delivered`, or a duration like `30m`, `1h`, `7d`; undefined when none. */
export function parseRetention(arg: string): { mode: "permanent" } | { mode: "store_and_forward" } | { mode: "disappearing"; ttlSeconds: number } | undefined {
  const a = arg.trim().toLowerCase();
  if (a === "off" || a === "permanent" || a === "keep") return { mode: "permanent" };
  if (a === "delivered") return { mode: "store_and_forward" };
  const m = /^(\d+)\s*([mhdw])$/.exec(a);
  if (!m) return undefined;
  return { mode: "disappearing", ttlSeconds: Number(m[1]) * unitSeconds[m[2]!]! };
}

/** The retention in words: "messages are kept" or "messages disappear after 1 hour". */
export function describeRetention(c: Pick<Conversation, "retention">): string {
  const r = c.retention;
  if (r?.mode === RetentionMode.DISAPPEARING) return `messages disappear ${formatDuration(r.ttlSeconds)} after they are sent`;
  if (r?.mode === RetentionMode.STORE_AND_FORWARD) return "messages are deleted from the server once delivered";
  return "messages are kept";
}

/** `/retention [ARG]` in a conversation: shows the policy, or sets it (the system message shows the change). */
export async function runRetentionCommand(arg: string, conversationId: string, client: MessengerClient, print: (line: string) => void): Promise<void> {
  if (arg === "") {
    print(`-- ${describeRetention(await client.getConversation(conversationId))}`);
    return;
  }
  const retention = parseRetention(arg);
  if (!retention) {
    print("! /retention takes off, delivered, or a duration such as 30m, 1h, 7d or 2w (5m to 90d)");
    return;
  }
  await client.setRetention(conversationId, retention);
}
