import type { Client } from "@connectrpc/connect";
import { fanOut, type Bus, type SessionRecord, type SessionRegistry } from "@messenger/bus";
import type { Logger } from "@messenger/logging";
import type { RelationsService } from "@messenger/proto/accounts/v1/relations_service";
import { createMemoryAnnounceBoard, type AnnounceBoard } from "../storage/announce-board.js";
import type { LastSeenStore } from "../storage/last-seen-store.js";
import { AnnounceCoalescer } from "./announce-coalescer.js";
import { systemClock, type Clock } from "./clock.js";
import { presenceToProto, type PresenceState } from "./presence-state.js";

/** What presence asks accounts: who hears a user's changes, and whom a viewer may see. */
export type RelationsClient = Pick<Client<typeof RelationsService>, "getRelations" | "listPresenceAudience">;

/** Counts of what the tracker sent, for benchmarks and metrics. */
export interface PresenceCounters {
  /** States announced (after coalescing), each to the user's online audience; a send overtaken by a later decision is not one. */
  readonly announcements: number;
  /** Presence frames published: one per announcement per online audience member reached. */
  readonly framesSent: number;
  /** Changes held inside an announcement window instead of being sent at once. */
  readonly held: number;
}

/** Dependencies of the tracker. */
export interface PresenceTrackerDeps {
  readonly registry: SessionRegistry;
  readonly bus: Bus;
  readonly relations: RelationsClient;
  readonly lastSeen: LastSeenStore;
  readonly log: Logger;
  /** Per-user rate limit of announcements (see AnnounceCoalescer); 0 sends every change. */
  readonly announceWindowMs: number;
  /**
   * What watchers have been told of each user, shared by every presence replica (NATS KV);
   * defaults to one in memory, for a single process.
   */
  readonly board?: AnnounceBoard;
  /** Defaults to the system clock. */
  readonly clock?: Clock;
}

/** Users decided at once when many go offline together (a dead gateway's thousands). */
const decisionsAtOnce = 64;

/**
 * Offline users whose announcement record and last seen are read at once by GetPresence:
 * each read is one KV request, so at most twice this many are under way for one call (500
 * ids must not become a thousand JetStream requests at the same moment).
 */
const readsAtOnce = 32;

/**
 * Online while any device holds a live session; offline with last seen when the last one
 * ends or expires. Last seen is written to the LastSeenStore on every went-offline, so it
 * survives a restart. Each transition is announced, rate-limited per user, to the online
 * members of the user's presence audience (accounts decides who: contacts minus blocks).
 *
 * Any number of replicas may run over one registry and board: a session is removed or
 * expired by one of them only (the registry's claim), and each transition is decided,
 * stored as last seen and announced by one of them only (AnnounceCoalescer).
 */
export class PresenceTracker {
  private readonly clock: Clock;
  private readonly coalescer: AnnounceCoalescer;
  private announcements = 0;
  private framesSent = 0;

  constructor(private readonly deps: PresenceTrackerDeps) {
    this.clock = deps.clock ?? systemClock;
    this.coalescer = new AnnounceCoalescer({
      board: deps.board ?? createMemoryAnnounceBoard(),
      windowMs: deps.announceWindowMs,
      clock: this.clock,
      log: deps.log,
      isOnline: async (userId) => (await deps.registry.sessionsOf([userId])).length > 0,
      wentOffline: (userId, atMs) => deps.lastSeen.put(userId, atMs).catch((err: unknown) => deps.log.warn({ err, userId }, "last seen not stored")),
      send: (s) => this.send(s),
    });
  }

  get counters(): PresenceCounters {
    return { announcements: this.announcements, framesSent: this.framesSent, held: this.coalescer.held };
  }

  async register(record: SessionRecord): Promise<void> {
    await this.deps.registry.put(record);
    // Decided before the call returns; the session does not wait for the announcement itself
    // (idle() does, for tests and shutdown).
    await this.coalescer.changed(record.userId, true);
  }

  async refresh(gatewayId: string, sessionIds: readonly string[]): Promise<string[]> {
    return this.deps.registry.refresh(gatewayId, sessionIds);
  }

  async end(sessionId: string): Promise<void> {
    const record = await this.deps.registry.remove(sessionId);
    if (record) await this.wentAway([record]);
  }

  /**
   * Drops sessions whose gateway stopped refreshing them; run periodically. The registry
   * keeps its TTLs on its own (wall) clock.
   */
  async sweep(): Promise<number> {
    const expired = await this.deps.registry.expire();
    if (expired.length > 0) await this.wentAway(expired);
    return expired.length;
  }

  /** The presence of the given users, whoever asks (callers filter by visibility first). */
  async presenceOf(userIds: readonly string[]): Promise<PresenceState[]> {
    const online = new Set((await this.deps.registry.sessionsOf(userIds)).map((s) => s.userId));
    const offline = userIds.filter((u) => !online.has(u));
    const lastSeen = new Map<string, number>();
    for (let i = 0; i < offline.length; i += readsAtOnce) {
      const batch = offline.slice(i, i + readsAtOnce);
      const [held, seen] = await Promise.all([
        this.coalescer.heldOffline(batch).catch((err: unknown) => {
          this.deps.log.warn({ err }, "announcement records not read; answering from the sessions alone");
          return new Set<string>();
        }),
        this.deps.lastSeen.get(batch),
      ]);
      // Inside the offline grace a user is still shown online, exactly as pushes show them: a
      // reader must not learn "offline" that a reconnect within the window never corrects.
      for (const u of held) online.add(u);
      for (const [u, at] of seen) lastSeen.set(u, at);
    }
    return userIds.map((userId) => ({ userId, online: online.has(userId), lastSeenAt: online.has(userId) ? 0 : (lastSeen.get(userId) ?? 0) }));
  }

  /**
   * The presence `viewerId` may see among `userIds`, once each in the order asked: their
   * own, and that of users whose relation to them says presence_visible. Everyone else is
   * left out exactly like an unknown id, so the answer does not tell hidden from absent.
   */
  async presenceVisibleTo(viewerId: string, userIds: readonly string[]): Promise<PresenceState[]> {
    const unique = [...new Set(userIds)];
    const peers = unique.filter((u) => u !== viewerId);
    const visible = new Set<string>([viewerId]);
    if (peers.length > 0) {
      const { relations } = await this.deps.relations.getRelations({ userId: viewerId, peerUserIds: peers });
      for (const r of relations) if (r.presenceVisible) visible.add(r.peerUserId);
    }
    return this.presenceOf(unique.filter((u) => visible.has(u)));
  }

  /**
   * Tells the viewers whose sight of a user changed (a contact made or removed, a block, a
   * privacy setting): the current presence to those who gained it, a hidden presence to
   * those who lost it, so no screen keeps showing what it may no longer see. Only those
   * online are reached; the others ask GetPresence when they come back.
   */
  async audienceChanged(userId: string, gained: readonly string[], lost: readonly string[]): Promise<void> {
    // In the user's send order: an announcement that read its audience before the change
    // goes out first, so the hidden presence is the last word a lost viewer gets.
    await this.coalescer.inOrder(userId, async () => {
      if (gained.length > 0) {
        const [state] = await this.presenceOf([userId]);
        await fanOut(this.deps, gained, { frame: { case: "presence", value: { presence: presenceToProto(state!) } } });
      }
      if (lost.length > 0) await fanOut(this.deps, lost, { frame: { case: "presence", value: { presence: { userId, hidden: true } } } });
    });
  }

  /** Resolves when every announcement started so far has been sent. */
  idle(): Promise<void> {
    return this.coalescer.idle();
  }

  /** Sends the announcements still held in a window at once and waits for every send. */
  async close(): Promise<void> {
    this.coalescer.close();
    await this.coalescer.idle();
  }

  private async wentAway(records: readonly SessionRecord[]): Promise<void> {
    const users = [...new Set(records.map((r) => r.userId))];
    const stillOnline = new Set((await this.deps.registry.sessionsOf(users)).map((s) => s.userId));
    const at = this.clock.now();
    // A user with a session left has not changed for watchers; a registration that would make
    // that untrue decides on its own. A dead gateway's thousands of users are decided a
    // batch at a time: not one round trip after another, not all at once.
    const gone = users.filter((u) => !stillOnline.has(u));
    for (let i = 0; i < gone.length; i += decisionsAtOnce) {
      await Promise.all(gone.slice(i, i + decisionsAtOnce).map((userId) => this.coalescer.changed(userId, false, at)));
    }
  }

  private async send(state: PresenceState): Promise<void> {
    try {
      const { userIds } = await this.deps.relations.listPresenceAudience({ userId: state.userId });
      if (userIds.length > 0 && (await this.superseded(state))) return;
      this.announcements++;
      if (userIds.length === 0) return;
      const reached = await fanOut(this.deps, userIds, { frame: { case: "presence", value: { presence: presenceToProto(state) } } });
      this.framesSent += reached.size;
    } catch (err) {
      // Presence is advisory: a failed announcement must not fail the session it came from.
      this.deps.log.warn({ err, userId: state.userId }, "presence announcement failed");
    }
  }

  /**
   * Whether a later decision replaced `state` while its send waited (see
   * AnnounceCoalescer.superseded). Asked after the audience lookup, which may take seconds:
   * only the registry lookup of the audience's gateways lies between it and the publish. An
   * unreadable board lets the send go: a late word beats none.
   */
  private superseded(state: PresenceState): Promise<boolean> {
    return this.coalescer.superseded(state).catch((err: unknown) => {
      this.deps.log.warn({ err, userId: state.userId }, "announcement record not read before sending; sending anyway");
      return false;
    });
  }
}
