import { afterAll, describe, expect, it } from "vitest";
import { scenario, tempRepos } from "../../test/temp-repo.js";
import { applyGroupChange } from "./apply-group-change.js";
import type { GroupChangeInput } from "./group-change.js";
import { getGroupState, getMemberRanges, listMembers } from "./group-state.js";

const repos = tempRepos("groups");
afterAll(() => repos.cleanup());

const input = (over: Partial<GroupChangeInput>): GroupChangeInput => ({
  conversationId: "g",
  actorUserId: "owner",
  expectedMemberVersion: 0,
  change: { kind: "create", title: "t", description: "", memberUserIds: ["bob"] },
  now: 1,
  ...over,
});

describe("applyGroupChange", () => {
  let shared: ReturnType<typeof repos.open> | undefined;
  it.each([
    ["no actor", input({ actorUserId: "" })],
    ["no conversation id", input({ conversationId: "" })],
    ["a create on a non-zero version", input({ expectedMemberVersion: 3 })],
    ["a member listed twice", input({ change: { kind: "create", title: "t", description: "", memberUserIds: ["bob", "bob"] } })],
    ["the actor listed as a member", input({ change: { kind: "create", title: "t", description: "", memberUserIds: ["owner"] } })],
    ["a title over 128 characters", input({ change: { kind: "create", title: "t".repeat(129), description: "", memberUserIds: [] } })],
    ["a description over 1024 characters", input({ change: { kind: "updateInfo", title: "t", description: "d".repeat(1025) } })],
    ["an empty add", input({ change: { kind: "addMembers", userIds: [] } })],
    ["removing oneself", input({ change: { kind: "removeMember", userId: "owner" } })],
    ["transferring to oneself", input({ change: { kind: "transferOwnership", toUserId: "owner" } })],
  ])("refuses %s with INVALID_ARGUMENT before touching storage", async (_what, change) => {
    const repo = (shared ??= repos.open());
    await expect(applyGroupChange(repo, change)).rejects.toMatchObject({ kind: "invalid_argument" });
    expect(await repo.getConversation("g")).toBeUndefined();
  });

  it("refuses a stale version with ABORTED, leaving members, ranges and messages as they were", async () => {
    const repo = repos.open();
    const s = scenario(repo);
    const created = await s.group("g", "owner", ["bob", "carol"]);
    await s.send("g", "bob");
    const ranges = await getMemberRanges(repo, "g", 0);
    const err = await applyGroupChange(repo, input({ expectedMemberVersion: created.memberVersion - 1, change: { kind: "removeMember", userId: "bob" } })).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: "aborted", message: expect.stringMatching(/member_version is \d+, not \d+/) });
    expect(await getMemberRanges(repo, "g", 0)).toEqual(ranges);
    expect((await repo.getConversation("g"))?.lastSeq).toBe(2);
    expect(await getMemberRanges(repo, "g", ranges.memberVersion)).toEqual({ memberVersion: ranges.memberVersion, memberCount: 3, unchanged: true, ranges: [], blocked: false });
  });

  it("reads the group's state for the groups service", async () => {
    const repo = repos.open();
    const s = scenario(repo);
    await s.group("g", "owner", ["bob", "carol"], "title");
    await s.change("g", "owner", { kind: "removeMember", userId: "carol" });
    const state = await getGroupState(repo, "g", ["owner", "carol", "zed"]);
    expect(state.conversation).toMatchObject({ kind: "group", title: "title", memberCount: 2, lastSeq: 2 });
    expect(state.members.map((m) => [m.userId, m.role, m.active, m.joinedSeq])).toEqual([["owner", "owner", true, 1], ["carol", undefined, false, 1]]);
    await expect(getGroupState(repo, "nope", [])).rejects.toMatchObject({ kind: "not_found" });
  });

  it("creates and messages a group of 1,000 and pages through its members", async () => {
    const repo = repos.open();
    const s = scenario(repo);
    const members = Array.from({ length: 999 }, (_, i) => `user${String(i).padStart(4, "0")}`);
    const created = await s.group("big", "owner", members);
    expect(created.memberCount).toBe(1_000);
    for (let i = 0; i < 10; i++) expect((await s.send("big", members[i * 50]!)).seq).toBe(i + 2);
    const ranges = await getMemberRanges(repo, "big", 0);
    expect(ranges).toMatchObject({ memberCount: 1_000, unchanged: false });
    expect(ranges.ranges).toHaveLength(1_000);
    const seen: string[] = [];
    let token = "";
    do {
      const page = await listMembers(repo, { conversationId: "big", pageSize: 300, pageToken: token });
      expect(page.memberCount).toBe(1_000);
      seen.push(...page.members.map((m) => m.userId));
      token = page.nextPageToken;
    } while (token);
    expect(seen).toEqual([...members, "owner"].sort());
  });
});
