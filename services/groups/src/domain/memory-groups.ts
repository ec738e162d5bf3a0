import { GroupError, StaleMemberVersionError } from "./group-error.js";
import type { MemberPage } from "./group-ports.js";
import type { GroupChange, GroupDecision, GroupState, Membership } from "./group-state.js";

interface StoredGroup {
  kind: "group" | "direct";
  title: string;
  description: string;
  memberVersion: bigint;
  lastSeq: bigint;
  members: Map<string, Membership>;
}

/** One committed change, as a test observes it. */
export interface AppliedChange {
  readonly conversationId: string;
  readonly actorUserId: string;
  readonly change: GroupChange;
  readonly seq: bigint;
}

/**
 * An in-memory stand-in for the store's group tables, for tests only: the same check of the
 * expected member version as the store's ApplyGroupChange, and a hook to run a concurrent
 * change just before the next apply.
 */
export class MemoryGroups {
  private readonly groups = new Map<string, StoredGroup>();
  /** Every committed change, oldest first. */
  readonly applied: AppliedChange[] = [];
  /** Called (and cleared) before the next apply checks the version: a concurrent writer. */
  beforeNextApply: (() => void) | undefined;

  /** Puts a group straight into the table. */
  seed(conversationId: string, group: { kind?: "group" | "direct"; title?: string; description?: string; members: Membership[] }): void {
    this.groups.set(conversationId, {
      kind: group.kind ?? "group",
      title: group.title ?? "seeded",
      description: group.description ?? "",
      memberVersion: 1n,
      lastSeq: 1n,
      members: new Map(group.members.map((m) => [m.userId, m])),
    });
  }

  read(conversationId: string, userIds: readonly string[]): GroupState {
    const g = this.groups.get(conversationId);
    if (!g) throw new GroupError("group-not-found", `group ${conversationId} not found`);
    const members = new Map<string, Membership>();
    for (const u of userIds) {
      const m = g.members.get(u);
      if (m) members.set(u, m);
    }
    return { conversationId, kind: g.kind, title: g.title, description: g.description, memberVersion: g.memberVersion, memberCount: this.count(g), lastSeq: g.lastSeq, members };
  }

  apply(conversationId: string, actorUserId: string, decision: GroupDecision): { seq: bigint; memberVersion: bigint; memberCount: number } {
    const hook = this.beforeNextApply;
    this.beforeNextApply = undefined;
    hook?.();
    const c = decision.change;
    let g = this.groups.get(conversationId);
    if (c.kind === "create") {
      if (g) throw new StaleMemberVersionError(conversationId);
      g = { kind: "group", title: c.title, description: c.description, memberVersion: 0n, lastSeq: 0n, members: new Map() };
      this.groups.set(conversationId, g);
    } else if (!g || g.memberVersion !== decision.expectedMemberVersion) {
      throw new StaleMemberVersionError(conversationId);
    }
    const seq = g.lastSeq + 1n;
    const set = (userId: string, role: Membership["role"], active = true): void => {
      const was = g.members.get(userId);
      g.members.set(userId, { userId, role, active, joinedSeq: active && !was?.active ? seq : (was?.joinedSeq ?? seq) });
    };
    const roleOf = (userId: string): Membership["role"] => g.members.get(userId)?.role ?? "member";
    switch (c.kind) {
      case "create":
        set(actorUserId, "owner");
        for (const u of c.memberUserIds) set(u, "member");
        break;
      case "add-members":
        for (const u of c.userIds) set(u, "member");
        break;
      case "remove-member":
        set(c.userId, roleOf(c.userId), false);
        break;
      case "leave":
        set(actorUserId, roleOf(actorUserId), false);
        break;
      case "set-role":
        set(c.userId, c.role);
        break;
      case "transfer-ownership":
        set(c.toUserId, "owner");
        set(actorUserId, "admin");
        break;
      case "update-info":
        g.title = c.title;
        g.description = c.description;
        break;
    }
    g.lastSeq = seq;
    g.memberVersion += 1n;
    this.applied.push({ conversationId, actorUserId, change: c, seq });
    return { seq, memberVersion: g.memberVersion, memberCount: this.count(g) };
  }

  list(conversationId: string, pageSize: number, pageToken: string): MemberPage {
    const g = this.groups.get(conversationId);
    if (!g) throw new GroupError("group-not-found", `group ${conversationId} not found`);
    const all = [...g.members.values()].filter((m) => m.active).sort((a, b) => (a.userId < b.userId ? -1 : 1));
    const page = all.filter((m) => m.userId > pageToken).slice(0, pageSize);
    const last = page.at(-1);
    return { members: page, nextPageToken: last && all.at(-1) !== last ? last.userId : "", memberCount: all.length };
  }

  private count(g: StoredGroup): number {
    let n = 0;
    for (const m of g.members.values()) if (m.active) n++;
    return n;
  }
}
