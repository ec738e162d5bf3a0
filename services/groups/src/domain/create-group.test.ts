import { describe, expect, it } from "vitest";
import { decideCreateGroup } from "./create-group.js";
import { expectRefusal } from "./expect-refusal.js";
import { groupLimits } from "./group-input.js";

const settings = { maxGroupMembers: 5 };

describe("decideCreateGroup", () => {
  it("creates a permanent group with the caller as owner and the listed users as members, at member version 0", () => {
    const d = decideCreateGroup("olga", { title: "Climbing", description: "", memberUserIds: ["mia", "max"] }, settings);
    expect(d).toEqual({
      change: { kind: "create", title: "Climbing", description: "", memberUserIds: ["mia", "max"], retention: { mode: "permanent", ttlSeconds: 0 } },
      expectedMemberVersion: 0n,
    });
  });

  it("creates the group with the retention asked, left for the store to check with SetRetention's rules", () => {
    const retention = { mode: "disappearing", ttlSeconds: 3600 } as const;
    expect(decideCreateGroup("olga", { title: "t", description: "", memberUserIds: [], retention }, settings).change.retention).toEqual(retention);
  });

  it("de-duplicates listed members and ignores the creator listing themselves", () => {
    const d = decideCreateGroup("olga", { title: "t", description: "", memberUserIds: ["mia", "olga", "mia", "max", "max"] }, settings);
    expect(d.change.memberUserIds).toEqual(["mia", "max"]);
  });

  it("creates a group of the owner alone", () => {
    expect(decideCreateGroup("olga", { title: "t", description: "", memberUserIds: [] }, settings).change.memberUserIds).toEqual([]);
  });

  it("accepts a group exactly at the member limit, the owner included", () => {
    expect(decideCreateGroup("olga", { title: "t", description: "", memberUserIds: ["a", "b", "c", "d"] }, settings).change.memberUserIds).toHaveLength(4);
  });

  it("refuses a group over the member limit with RESOURCE_EXHAUSTED (group-full)", () => {
    expectRefusal(() => decideCreateGroup("olga", { title: "t", description: "", memberUserIds: ["a", "b", "c", "d", "e"] }, settings), "group-full", /at most 5/);
  });

  it("refuses an empty, blank or over-long title and an over-long description with INVALID_ARGUMENT", () => {
    expectRefusal(() => decideCreateGroup("olga", { title: "", description: "", memberUserIds: [] }, settings), "invalid-argument", /title/);
    expectRefusal(() => decideCreateGroup("olga", { title: "   ", description: "", memberUserIds: [] }, settings), "invalid-argument", /title/);
    expectRefusal(() => decideCreateGroup("olga", { title: "x".repeat(129), description: "", memberUserIds: [] }, settings), "invalid-argument", /title/);
    expectRefusal(() => decideCreateGroup("olga", { title: "t", description: "x".repeat(1025), memberUserIds: [] }, settings), "invalid-argument", /description/);
  });

  it("counts title characters as Unicode code points, so 128 emoji are a valid title", () => {
    expect(decideCreateGroup("olga", { title: "🧗".repeat(128), description: "d".repeat(1024), memberUserIds: [] }, settings).change.title).toHaveLength(256);
  });

  it("refuses an empty member id with INVALID_ARGUMENT", () => {
    expectRefusal(() => decideCreateGroup("olga", { title: "t", description: "", memberUserIds: ["mia", ""] }, settings), "invalid-argument", /member_user_ids/);
  });

  it("refuses more distinct users per call than the per-call limit with INVALID_ARGUMENT", () => {
    const many = Array.from({ length: groupLimits.maxUsersPerCall + 1 }, (_, i) => `u${i}`);
    expectRefusal(() => decideCreateGroup("olga", { title: "t", description: "", memberUserIds: many }, { maxGroupMembers: 10_000 }), "invalid-argument", /at most 1024/);
  });
});
