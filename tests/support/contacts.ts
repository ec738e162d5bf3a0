import type { Api, ApiUser } from "./api-user.js";

/** Makes two users contacts: x asks, y accepts. */
export async function befriend(a: Api, x: ApiUser, y: ApiUser): Promise<void> {
  await a.contacts.sendContactRequest({ userId: y.id }, x.auth);
  await a.contacts.acceptContactRequest({ userId: x.id }, y.auth);
}

/** What `viewer` may see of a user's presence; undefined when it is hidden from them. */
export async function visiblePresence(a: Api, viewer: ApiUser, userId: string): Promise<{ online: boolean; lastSeen: bigint } | undefined> {
  const p = (await a.presence.getPresence({ userIds: [userId] }, viewer.auth)).presences[0];
  return p ? { online: p.online, lastSeen: p.lastSeenAt?.seconds ?? 0n } : undefined;
}
