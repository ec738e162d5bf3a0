import { describe, expect, it } from "vitest";
import { decideAddMembers } from "./add-members.js";
import { expectRefusal } from "./expect-refusal.js";
import { groupState } from "./group-fixture.js";

const settings = { maxGroupMembers: 8 };

describe("decideAddMembers", () => {
  it("lets the owner and an admin add users as members at the read member version", () => {
    for (const actor of ["olga", "ada"]) {
      expect(decideAddMembers(groupState(), actor, ["nina", "otto"], settings)).toEqual({
        change: { kind: "add-members", userIds: ["nina", "otto"] },
        expectedMemberVersion: 7n,
      });
    }
  });

  it("adds back a former member", () => {
    expect(decideAddMembers(groupState(), "olga", ["fred"], settings).change.userIds).toEqual(["fred"]);
  });

  it("skips users who already are members when others are not", () => {
    expect(decideAddMembers(groupState(), "ada", ["mia", "nina", "olga"], settings).change.userIds).toEqual(["nina"]);
  });

  it("refuses with ALREADY_EXISTS when every listed user is a member", () => {
    expectRefusal(() => decideAddMembers(groupState(), "olga", ["mia"], settings), "already-member", /mia is already a member/);
    expectRefusal(() => decideAddMembers(groupState(), "olga", ["mia", "max"], settings), "already-member", /every listed user/);
  });

  it("refuses a plain member with PERMISSION_DENIED (forbidden)", () => {
    expectRefusal(() => decideAddMembers(groupState(), "mia", ["nina"], settings), "forbidden");
  });

  it("refuses a former member and a stranger with PERMISSION_DENIED (not-a-member)", () => {
    expectRefusal(() => decideAddMembers(groupState(), "fred", ["nina"], settings), "not-a-member");
    expectRefusal(() => decideAddMembers(groupState(), "stranger", ["nina"], settings), "not-a-member");
  });

  it("fills the group exactly to its limit", () => {
    expect(decideAddMembers(groupState(), "olga", ["a", "b", "c"], settings).change.userIds).toHaveLength(3);
  });

  it("refuses with RESOURCE_EXHAUSTED when the new members would not all fit, adding none", () => {
    expectRefusal(() => decideAddMembers(groupState(), "olga", ["a", "b", "c", "d"], settings), "group-full", /has 5 and 4 would be added/);
  });

  it("counts only users who are not members yet against the limit", () => {
    expect(decideAddMembers(groupState(), "olga", ["mia", "max", "a", "b", "c"], settings).change.userIds).toEqual(["a", "b", "c"]);
  });

  it("refuses an empty list with INVALID_ARGUMENT", () => {
    expectRefusal(() => decideAddMembers(groupState(), "olga", [], settings), "invalid-argument");
  });

  it("refuses a direct conversation with FAILED_PRECONDITION (not-a-group)", () => {
    expectRefusal(() => decideAddMembers(groupState({ kind: "direct" }), "olga", ["nina"], settings), "not-a-group");
  });
});
