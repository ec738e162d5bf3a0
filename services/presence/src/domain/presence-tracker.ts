import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { fanOut, type Bus, type SessionRecord, type SessionRegistry } from "@messenger/bus";
import type { PresenceSchema } from "@messenger/proto/chat/v1/types";
import type { Logger } from "@messenger/logging";

/** A user's presence as the tracker knows it. Times are epoch milliseconds. */
export interface PresenceState {
  readonly userId: string;
  readonly online: boolean;
  /** 0 while online or when never seen. */
  readonly lastSeenAt: number;
}

/** Who should hear about a user's presence: the users sharing a conversation with them. */
export type ContactsLookup = (userId: string) => Promise<string[]>;

/**
 * Online while any device holds a live session; offline with last seen when the last one
 * ends or expires. Each transition is pushed to the user's online contacts.
 */
export class PresenceTracker {
  private readonly lastSeen = new Map<string, number>();

  constructor(
    private readonly deps: { registry: SessionRegistry; bus: Bus; contactsOf: ContactsLookup; log: Logger; now?: () => number },
  ) {}

  private now(): number {
    return this.deps.now?.() ?? Date.now();
  }

  async register(record: SessionRecord): Promise<void> {
    const wasOnline = (await this.deps.registry.sessionsOf([record.userId])).length > 0;
    await this.deps.registry.put(record);
    if (!wasOnline) await this.announce({ userId: record.userId, online: true, lastSeenAt: 0 });
  }

  async refresh(gatewayId: string, sessionIds: readonly string[]): Promise<string[]> {
    return this.deps.registry.refresh(gatewayId, sessionIds);
  }

  async end(sessionId: string): Promise<void> {
    const record = await this.deps.registry.remove(sessionId);
    if (record) await this.wentAway([record]);
  }

  /** Drops sessions whose gateway stopped refreshing them; run periodically. */
  async sweep(): Promise<number> {
    const expired = await this.deps.registry.expire(this.now());
    if (expired.length > 0) await this.wentAway(expired);
    return expired.length;
  }

  async presenceOf(userIds: readonly string[]): Promise<PresenceState[]> {
    const online = new Set((await this.deps.registry.sessionsOf(userIds)).map((s) => s.userId));
    return userIds.map((userId) => ({ userId, online: online.has(userId), lastSeenAt: online.has(userId) ? 0 : (this.lastSeen.get(userId) ?? 0) }));
  }

  private async wentAway(records: readonly SessionRecord[]): Promise<void> {
    const users = [...new Set(records.map((r) => r.userId))];
    const stillOnline = new Set((await this.deps.registry.sessionsOf(users)).map((s) => s.userId));
    const now = this.now();
    for (const userId of users) {
      if (stillOnline.has(userId)) continue;
      this.lastSeen.set(userId, now);
      await this.announce({ userId, online: false, lastSeenAt: now });
    }
  }

  private async announce(state: PresenceState): Promise<void> {
    try {
      const contacts = await this.deps.contactsOf(state.userId);
      if (contacts.length === 0) return;
      await fanOut(this.deps, contacts, { frame: { case: "presence", value: { presence: presenceToProto(state) } } });
    } catch (err) {
      // Presence is advisory: a failed announcement must not fail the session it came from.
      this.deps.log.warn({ err, userId: state.userId }, "presence announcement failed");
    }
  }
}

/** The proto shape of a presence state. */
export function presenceToProto(s: PresenceState): MessageInitShape<typeof PresenceSchema> {
  return { userId: s.userId, online: s.online, ...(s.lastSeenAt > 0 ? { lastSeenAt: timestampFromMs(s.lastSeenAt) } : {}) };
}
