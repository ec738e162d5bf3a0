import type { Membership, MemberRange } from "./member-ranges.js";

/** Where memberships come from (the store's GetMemberRanges). */
export interface MembershipSource {
  /** The membership now; `unchanged` (and no ranges) when it is still `knownVersion`. */
  memberRanges(
    conversationId: string,
    knownVersion: number,
  ): Promise<{ readonly version: number; readonly unchanged: boolean; readonly memberCount: number; readonly ranges: readonly MemberRange[]; readonly blocked: boolean }>;
}

/** Conversations whose membership a router keeps; past it the least recently loaded goes. */
const maxEntries = 20_000;

interface Load {
  readonly promise: Promise<Membership>;
  /** Loads are numbered in the order they started. */
  readonly number: number;
}

/**
 * Memberships by conversation, each tagged with its version. A reader says which version it
 * needs at least (the one the store reported with a message), so a cached entry is used only
 * when it is at least that new: a membership change is never missed, however many routers
 * cache it. A read that needs the membership "as it is now" waits for a store read that
 * started after it asked, never one already under way (which may predate a change).
 */
export class MembershipCache {
  private readonly entries = new Map<string, Membership>();
  private readonly loading = new Map<string, Load>();
  private loads = 0;

  constructor(private readonly source: MembershipSource) {}

  /** The membership at `minVersion` or later. */
  async atLeast(conversationId: string, minVersion: number): Promise<Membership> {
    const cached = this.entries.get(conversationId);
    if (cached && cached.version >= minVersion) return cached;
    // A load already under way may have read the store before the version asked for existed:
    // then one more read, which starts after it, must see it.
    for (let attempt = 0; attempt < 3; attempt++) {
      const m = await this.load(conversationId, attempt === 0 ? 0 : this.loads + 1);
      if (m.version >= minVersion) return m;
    }
    throw new Error(`the store's membership of ${conversationId} is older than version ${minVersion}`);
  }

  /** The membership as it is now: from a store read that began after this call. */
  current(conversationId: string): Promise<Membership> {
    return this.load(conversationId, this.loads + 1);
  }

  /** Joins a load numbered at least `minNumber`, or starts one. */
  private load(conversationId: string, minNumber: number): Promise<Membership> {
    const running = this.loading.get(conversationId);
    if (running && running.number >= minNumber) return running.promise;
    const after = running ? running.promise.catch(() => undefined) : Promise.resolve();
    const number = ++this.loads;
    // One store read per conversation at a time: a newer one starts when the older one ends.
    const promise = after.then(() => this.fetch(conversationId)).finally(() => {
      if (this.loading.get(conversationId)?.number === number) this.loading.delete(conversationId);
    });
    this.loading.set(conversationId, { promise, number });
    return promise;
  }

  private async fetch(conversationId: string): Promise<Membership> {
    const cached = this.entries.get(conversationId);
    const res = await this.source.memberRanges(conversationId, cached?.version ?? 0);
    const entry: Membership =
      res.unchanged && cached
        ? { ...cached, memberCount: res.memberCount, blocked: res.blocked }
        : { version: res.version, memberCount: res.memberCount, ranges: res.ranges, blocked: res.blocked };
    // Loads of one conversation run one after another, so a later one is never older.
    this.entries.delete(conversationId);
    if (this.entries.size >= maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(conversationId, entry);
    return entry;
  }
}
