import { beforeEach, describe, expect, it } from "vitest";
import { GroupError, type GroupErrorReason } from "./group-error.js";
import { member } from "./group-fixture.js";
import type { GroupPorts } from "./group-ports.js";
import { groupUseCases, type GroupUseCases } from "./group-use-cases.js";
import { MemoryGroups } from "./memory-groups.js";

interface TestEvent {
  readonly seq: bigint;
}

let db: MemoryGroups;
let delivered: TestEvent[];
let lookups: string[][];
let accounts: Set<string>;
/** "blocker>blocked" pairs. */
let blocks: Set<string>;
let groups: GroupUseCases<TestEvent>;
let nextId: number;

beforeEach(() => {
  db = new MemoryGroups();
  db.seed("grp_1", { title: "Climbing", members: [member("olga", "owner"), member("ada", "admin"), member("mia"), member("fred", "member", false)] });
  delivered = [];
  lookups = [];
  accounts = new Set(["olga", "ada", "mia", "fred", "nina", "otto"]);
  blocks = new Set();
  nextId = 0;
  const ports: GroupPorts<TestEvent> = {
    store: {
      readState: async (id, userIds) => db.read(id, userIds),
      apply: async (id, actor, decision) => {
        const r = db.apply(id, actor, decision);
        return { event: { seq: r.seq }, memberVersion: r.memberVersion, memberCount: r.memberCount };
      },
      listMembers: async (id, size, token) => db.list(id, size, token),
    },
    users: {
      screenForAdding: async (actor, ids) => {
        lookups.push([...ids]);
        return { unknown: ids.filter((u) => !accounts.has(u)), blockingActor: ids.filter((u) => accounts.has(u) && blocks.has(`${u}>${actor}`)) };
      },
    },
    delivery: { deliver: async (e) => void delivered.push(e) },
  };
  groups = groupUseCases(ports, {
    settings: { maxGroupMembers: 5 },
    retry: { attempts: 4, baseDelayMs: 1, random: () => 0, sleep: async () => {} },
    newGroupId: () => `grp_new${++nextId}`,
  });
});

async function refusal(p: Promise<unknown>): Promise<GroupErrorReason> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, "expected a refusal").toBeInstanceOf(GroupError);
  return (err as GroupError).reason;
}

describe("group use cases", () => {
  it("creates a group with a fresh id, the caller as owner, and delivers its first message", async () => {
    const { conversationId, committed } = await groups.createGroup("olga", { title: "Trips", description: "", memberUserIds: ["nina", "otto", "nina"] });
    expect(conversationId).toBe("grp_new1");
    expect(committed.memberCount).toBe(3);
    expect(db.read(conversationId, ["olga", "nina"]).members.get("olga")?.role).toBe("owner");
    expect(delivered).toEqual([committed.event]);
  });

  it("refuses to create a group with an unknown member with NOT_FOUND, creating nothing", async () => {
    expect(await refusal(groups.createGroup("olga", { title: "Trips", description: "", memberUserIds: ["nina", "ghost"] }))).toBe("user-not-found");
    expect(db.applied).toEqual([]);
    expect(delivered).toEqual([]);
  });

  it("re-reads and re-decides after a concurrent change, committing on the fresh member version", async () => {
    db.beforeNextApply = () => db.apply("grp_1", "ada", { change: { kind: "add-members", userIds: ["otto"] }, expectedMemberVersion: 1n });
    const committed = await groups.addMembers("olga", "grp_1", ["nina"]);
    expect(db.applied.map((a) => a.change.kind)).toEqual(["add-members", "add-members"]);
    expect(committed.memberVersion).toBe(3n);
    expect(delivered).toEqual([committed.event]);
  });

  it("refuses on the re-read when a concurrent change filled the group (RESOURCE_EXHAUSTED), adding nobody", async () => {
    db.beforeNextApply = () => db.apply("grp_1", "ada", { change: { kind: "add-members", userIds: ["otto", "x"] }, expectedMemberVersion: 1n });
    expect(await refusal(groups.addMembers("olga", "grp_1", ["nina"]))).toBe("group-full");
    expect(db.read("grp_1", ["nina"]).members.has("nina")).toBe(false);
  });

  it("refuses on the re-read when the member to remove left meanwhile (NOT_FOUND)", async () => {
    db.beforeNextApply = () => db.apply("grp_1", "mia", { change: { kind: "leave" }, expectedMemberVersion: 1n });
    expect(await refusal(groups.removeMember("olga", "grp_1", "mia"))).toBe("target-not-member");
    expect(db.applied.map((a) => a.change.kind)).toEqual(["leave"]);
  });

  it("gives up with ABORTED when the group keeps changing, having changed nothing itself", async () => {
    let moves = 0;
    const move = (): void => {
      moves++;
      const v = db.read("grp_1", []).memberVersion;
      db.apply("grp_1", "ada", { change: { kind: "update-info", title: `t${moves}`, description: "" }, expectedMemberVersion: v });
      db.beforeNextApply = move;
    };
    db.beforeNextApply = move;
    expect(await refusal(groups.addMembers("olga", "grp_1", ["nina"]))).toBe("concurrent-change");
    expect(moves).toBe(4);
    expect(db.applied.every((a) => a.change.kind === "update-info")).toBe(true);
    expect(delivered).toEqual([]);
  });

  it("refuses adding an unknown user with NOT_FOUND and adds nobody, not even the known ones", async () => {
    expect(await refusal(groups.addMembers("olga", "grp_1", ["nina", "ghost"]))).toBe("user-not-found");
    expect(db.applied).toEqual([]);
  });

  it("refuses adding or creating with a user who blocks the caller, adding nobody; someone the caller blocks may be added", async () => {
    blocks.add("nina>olga");
    expect(await refusal(groups.addMembers("olga", "grp_1", ["otto", "nina"]))).toBe("blocked");
    expect(await refusal(groups.createGroup("olga", { title: "Trips", description: "", memberUserIds: ["nina"] }))).toBe("blocked");
    expect(db.applied).toEqual([]);
    blocks.clear();
    blocks.add("olga>nina");
    const committed = await groups.addMembers("olga", "grp_1", ["nina"]);
    expect(committed.memberCount).toBe(4);
  });

  it("looks each added user up once, not again on a retry, and never looks up current members", async () => {
    db.beforeNextApply = () => db.apply("grp_1", "ada", { change: { kind: "update-info", title: "x", description: "" }, expectedMemberVersion: 1n });
    await groups.addMembers("olga", "grp_1", ["mia", "nina"]);
    expect(lookups).toEqual([["nina"]]);
  });

  it("adds a user listed twice once, and refuses more than 1024 distinct users per call with INVALID_ARGUMENT", async () => {
    await groups.addMembers("olga", "grp_1", ["nina", "nina"]);
    expect(db.applied.map((a) => a.change)).toEqual([{ kind: "add-members", userIds: ["nina"] }]);
    const many = Array.from({ length: 1025 }, (_, i) => `u${i}`);
    expect(await refusal(groups.addMembers("olga", "grp_1", many))).toBe("invalid-argument");
  });

  it("checks the caller's rights before looking up accounts", async () => {
    expect(await refusal(groups.addMembers("mia", "grp_1", ["nina"]))).toBe("forbidden");
    expect(lookups).toEqual([]);
  });

  it("commits and delivers nothing for a no-op info or role change", async () => {
    expect(await groups.updateGroupInfo("olga", "grp_1", "Climbing", "")).toBeNull();
    expect(await groups.setMemberRole("olga", "grp_1", "ada", "admin")).toBeNull();
    expect(db.applied).toEqual([]);
    expect(delivered).toEqual([]);
  });

  it("hands ownership over: the new owner may then let the old one (now an admin) leave", async () => {
    await groups.transferOwnership("olga", "grp_1", "mia");
    const s = db.read("grp_1", ["olga", "mia"]);
    expect([s.members.get("olga")?.role, s.members.get("mia")?.role]).toEqual(["admin", "owner"]);
    await groups.leaveGroup("olga", "grp_1");
    expect(db.read("grp_1", ["olga"]).members.get("olga")?.active).toBe(false);
  });

  it("refuses an unknown group with NOT_FOUND", async () => {
    expect(await refusal(groups.getGroup("olga", "grp_nope"))).toBe("group-not-found");
    expect(await refusal(groups.leaveGroup("mia", "grp_nope"))).toBe("group-not-found");
  });

  it("lets a former member read the group but not list its members", async () => {
    expect((await groups.getGroup("fred", "grp_1")).membership.active).toBe(false);
    expect(await refusal(groups.listMembers("fred", "grp_1", 0, ""))).toBe("not-a-member");
  });

  it("pages through current members by user id", async () => {
    const first = await groups.listMembers("mia", "grp_1", 2, "");
    expect(first.members.map((m) => m.userId)).toEqual(["ada", "mia"]);
    const second = await groups.listMembers("mia", "grp_1", 2, first.nextPageToken);
    expect([second.members.map((m) => m.userId), second.nextPageToken, second.memberCount]).toEqual([["olga"], "", 3]);
  });
});
