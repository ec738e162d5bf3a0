import type { ConversationRecord, DeviceDelivered, HistoryRepository, MemberRangeRecord, MessageRecord } from "../storage/history-repository.js";

/** A device as the device directory (accounts) knows it: from its first login until its logout. */
export interface RegisteredDevice {
  readonly userId: string;
  readonly deviceId: string;
  readonly registeredAt: number;
}

/** Which devices users have now (the accounts service's DevicesService). */
export interface DeviceDirectory {
  devicesOf(userIds: readonly string[]): Promise<RegisteredDevice[]>;
}

/** The longest a store-and-forward message waits for a device that never comes back. */
export const defaultStoreAndForwardMaxHoldMs = 30 * 24 * 3600 * 1000;

/** Conversations read per page, and messages examined per conversation per pass at most. */
const conversationPage = 100;
const messagesPerConversation = 1_000;

const key = (userId: string, deviceId: string): string => `${userId}\u0000${deviceId}`;

/**
 * The highest seq of `messages` (ascending, contiguous from min_seq) through which every
 * message is gone: held longer than `maxHoldMs`, or delivered to every recipient device that
 * existed when it was sent — every registered device of a user whose membership range holds
 * it, registered at or before it was sent, except the device that sent it. 0 when the first
 * one is still owed to a device. A prefix only: min_seq means nothing below it exists.
 */
export function deliveredThrough(
  messages: readonly MessageRecord[],
  ranges: readonly MemberRangeRecord[],
  devices: readonly RegisteredDevice[],
  delivered: ReadonlyMap<string, number>,
  holdCutoff: number,
): number {
  const byUser = new Map<string, RegisteredDevice[]>();
  for (const d of devices) byUser.set(d.userId, [...(byUser.get(d.userId) ?? []), d]);
  let through = 0;
  for (const m of messages) {
    if (m.sentAt > holdCutoff && owedToSomeDevice(m, ranges, byUser, delivered)) break;
    through = m.seq;
  }
  return through;
}

function owedToSomeDevice(m: MessageRecord, ranges: readonly MemberRangeRecord[], byUser: ReadonlyMap<string, RegisteredDevice[]>, delivered: ReadonlyMap<string, number>): boolean {
  for (const r of ranges) {
    if (m.seq < r.fromSeq || (r.toSeq !== undefined && m.seq > r.toSeq)) continue;
    for (const d of byUser.get(r.userId) ?? []) {
      if (d.registeredAt > m.sentAt) continue;
      if (d.userId === m.senderUserId && d.deviceId === m.senderDeviceId) continue;
      if ((delivered.get(key(d.userId, d.deviceId)) ?? 0) < m.seq) return true;
    }
  }
  return false;
}

/** What one store-and-forward pass deleted. */
export interface DeliveredDeletion {
  readonly deleted: number;
  readonly conversations: number;
  /** True when the limit, or a conversation's page, stopped the pass before everything due was deleted. */
  readonly more: boolean;
}

/**
 * Deletes, up to `limit` messages, what store-and-forward conversations no longer owe any
 * device (see deliveredThrough). Reads first, then deletes through the repository, which
 * deletes nothing if the conversation's retention changed in between. A directory that
 * cannot answer fails the pass: nothing is deleted on a guess.
 */
export async function deleteDeliveredMessages(
  repo: HistoryRepository,
  directory: DeviceDirectory,
  opts: { now: number; maxHoldMs: number; limit: number },
): Promise<DeliveredDeletion> {
  let deleted = 0;
  let conversations = 0;
  let more = false;
  let after = "";
  for (;;) {
    const page = await repo.storeAndForwardHeld(after, conversationPage);
    for (const c of page) {
      if (deleted >= opts.limit) return { deleted, conversations, more: true };
      const d = await deleteDeliveredIn(repo, directory, c, opts.now - opts.maxHoldMs, opts.limit - deleted);
      deleted += d.deleted;
      if (d.deleted > 0) conversations++;
      if (d.more) more = true;
    }
    if (page.length < conversationPage) return { deleted, conversations, more };
    after = page.at(-1)!.id;
  }
}

/** What one conversation's look deleted; `more` when all of a full page went (more may be due behind it). */
async function deleteDeliveredIn(
  repo: HistoryRepository,
  directory: DeviceDirectory,
  c: ConversationRecord,
  holdCutoff: number,
  budget: number,
): Promise<{ deleted: number; more: boolean }> {
  const from = Math.max(c.minSeq, 1);
  const asked = Math.min(budget, messagesPerConversation);
  const page = (limit: number) => repo.listMessages(c.id, { afterSeq: from - 1, limit, direction: "forward" });
  const [first] = await page(1);
  if (!first) return { deleted: 0, more: false };
  // Ranges up to the end of the page this pass may read: more than it holds does no harm (each message checks containment).
  const ranges = (await repo.memberRanges(c.id)).filter((r) => r.fromSeq <= from + asked - 1 && (r.toSeq === undefined || r.toSeq >= from));
  const devices = await directory.devicesOf([...new Set(ranges.map((r) => r.userId))]);
  const cursors: DeviceDelivered[] = await repo.deliveredByDevice(c.id, devices);
  const delivered = new Map(cursors.map((d) => [key(d.userId, d.deviceId), d.deliveredSeq]));
  // While a device still owes the oldest message (one offline), one row tells: the page is not read pass after pass.
  if (deliveredThrough([first], ranges, devices, delivered, holdCutoff) === 0) return { deleted: 0, more: false };
  const messages = asked === 1 ? [first] : await page(asked);
  const through = deliveredThrough(messages, ranges, devices, delivered, holdCutoff);
  if (through === 0) return { deleted: 0, more: false };
  const deleted = await repo.deleteThrough(c.id, through, "store_and_forward");
  return { deleted, more: messages.length === asked && through === messages.at(-1)!.seq };
}
