import type { GroupState, Membership, Role } from "./group-state.js";

/** A member for tests: active unless said otherwise. */
export function member(userId: string, role: Role = "member", active = true, joinedSeq = 1n): Membership {
  return { userId, role, active, joinedSeq };
}

/**
 * A group state for rule tests: owner "olga", admins "ada" and "abe", members "mia" and
 * "max", former member "fred"; memberCount counts the active ones unless given.
 */
export function groupState(overrides: Partial<Omit<GroupState, "members">> & { members?: readonly Membership[] } = {}): GroupState {
  const members = overrides.members ?? [
    member("olga", "owner"),
    member("ada", "admin"),
    member("abe", "admin"),
    member("mia"),
    member("max"),
    member("fred", "member", false),
  ];
  return {
    conversationId: "grp_1",
    kind: "group",
    title: "Climbing",
    description: "Saturday trips",
    memberVersion: 7n,
    lastSeq: 42n,
    ...overrides,
    memberCount: overrides.memberCount ?? members.filter((m) => m.active).length,
    members: new Map(members.map((m) => [m.userId, m])),
  };
}
