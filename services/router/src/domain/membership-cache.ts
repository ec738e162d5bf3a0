import type { Membership, MemberRange } from "./member-ranges.js";

/** Where memberships come from (the store's GetMemberRanges). */
export interface MembershipSource {
  /** The membership now; `unchanged` (and no ranges) when it is still `knownVersion`. */
  memberRanges(
    conversationId: string,
    knownVersion: number,
  ): Promise<{ readonly version: number; readonly unchanged: boolean; readonly memberCount: number; readonly ranges: readonly MemberRange[] }>;
}

/**
 * Memberships by conversation, each tagged with its version. A reader says which version it
 * needs at least (the one the store reported with a message), so a cached entry is used only
 * when it is at least that new: a membership change is never missed, however many routers
 * cache it.
 */
export class MembershipCache {
  private readonly entries = new Map<string, Membership>();
  private readonly loading = new Map<string, Promise<Membership>>();

  constructor(
    private readonly source: MembershipSource,
    private readonly maxEntries = 20_000,
  ) {}

  /** The membership at `minVersion` or later. */
  async atLeast(conversationId: string, minVersion: number): Promise<Membership> {
    const cached = this.entries.get(conversationId);
    if (cached && cached.version >= minVersion) return cached;
    const fresh = await this.load(conversationId);
    // Another router's store read can only be newer, so this is at least minVersion.
    return fresh;
  }

  /** The membership as it is now (one cheap store call when the cached version is current). */
  current(conversationId: string): Promise<Membership> {
    return this.load(conversationId);
  }

  private load(conversationId: string): Promise<Membership> {
    let p = this.loading.get(conversationId);
    if (!p) {
      p = this.fetch(conversationId).finally(() => this.loading.delete(conversationId));
      this.loading.set(conversationId, p);
    }
    return p;
  }

  private async fetch(conversationId: string): Promise<Membership> {
    const cached = this.entries.get(conversationId);
    const res = await this.source.memberRanges(conversationId, cached?.version ?? 0);
    const entry: Membership =
      res.unchanged && cached ? { ...cached, memberCount: res.memberCount } : { version: res.version, memberCount: res.memberCount, ranges: res.ranges };
    this.entries.delete(conversationId);
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(conversationId, entry);
    return entry;
  }
}
