import { createHash } from "node:crypto";

/**
 * The id of the direct conversation of two users, derived from the pair so that two
 * concurrent first sends can never create two conversations.
 */
export function directConversationId(userA: string, userB: string): string {
  const [a, b] = [userA, userB].sort();
  return `dm_${createHash("sha256").update(`${a}\u0000${b}`).digest("hex").slice(0, 32)}`;
}
