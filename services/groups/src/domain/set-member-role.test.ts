import { describe, expect, it } from "vitest";
import { expectRefusal } from "./expect-refusal.js";
import { groupState } from "./group-fixture.js";
import { decideSetMemberRole } from "./set-member-role.js";

describe("decideSetMemberRole", () => {
  it("lets the owner make a member an admin and an admin a member", () => {
    expect(decideSetMemberRole(groupState(), "olga", "mia", "admin")).toEqual({ change: { kind: "set-role", userId: "mia", role: "admin" }, expectedMemberVersion: 7n });
    expect(decideSetMemberRole(groupState(), "olga", "ada", "member")?.change).toEqual({ kind: "set-role", userId: "ada", role: "member" });
  });

  it("commits nothing when the member already has the role", () => {
    expect(decideSetMemberRole(groupState(), "olga", "ada", "admin")).toBeNull();
  });

  it("refuses an admin setting roles with PERMISSION_DENIED (only the owner)", () => {
    expectRefusal(() => decideSetMemberRole(groupState(), "ada", "mia", "admin"), "forbidden", /only the owner/);
  });

  it("refuses OWNER as a role with INVALID_ARGUMENT, pointing at TransferOwnership", () => {
    expectRefusal(() => decideSetMemberRole(groupState(), "olga", "mia", "owner"), "invalid-argument", /TransferOwnership/);
  });

  it("refuses a missing role with INVALID_ARGUMENT", () => {
    expectRefusal(() => decideSetMemberRole(groupState(), "olga", "mia", undefined), "invalid-argument", /MEMBER_ROLE_MEMBER or MEMBER_ROLE_ADMIN/);
  });

  it("refuses the owner changing their own role with FAILED_PRECONDITION", () => {
    expectRefusal(() => decideSetMemberRole(groupState(), "olga", "olga", "admin"), "failed-precondition", /TransferOwnership/);
  });

  it("refuses a target who is not a current member with NOT_FOUND", () => {
    expectRefusal(() => decideSetMemberRole(groupState(), "olga", "fred", "admin"), "target-not-member");
    expectRefusal(() => decideSetMemberRole(groupState(), "olga", "nobody", "admin"), "target-not-member");
  });

  it("refuses a stranger with PERMISSION_DENIED (not-a-member)", () => {
    expectRefusal(() => decideSetMemberRole(groupState(), "stranger", "mia", "admin"), "not-a-member");
  });

  it("refuses a direct conversation with FAILED_PRECONDITION (not-a-group)", () => {
    expectRefusal(() => decideSetMemberRole(groupState({ kind: "direct" }), "olga", "mia", "admin"), "not-a-group");
  });
});
