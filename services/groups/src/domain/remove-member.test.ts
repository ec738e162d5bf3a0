import { describe, expect, it } from "vitest";
import { expectRefusal } from "./expect-refusal.js";
import { groupState } from "./group-fixture.js";
import { decideRemoveMember } from "./remove-member.js";

describe("decideRemoveMember", () => {
  it("lets the owner remove an admin or a member", () => {
    expect(decideRemoveMember(groupState(), "olga", "ada")).toEqual({ change: { kind: "remove-member", userId: "ada" }, expectedMemberVersion: 7n });
    expect(decideRemoveMember(groupState(), "olga", "mia").change).toEqual({ kind: "remove-member", userId: "mia" });
  });

  it("lets an admin remove a plain member", () => {
    expect(decideRemoveMember(groupState(), "ada", "mia").change).toEqual({ kind: "remove-member", userId: "mia" });
  });

  it("refuses to let an admin remove another admin with PERMISSION_DENIED", () => {
    expectRefusal(() => decideRemoveMember(groupState(), "ada", "abe"), "forbidden", /admin cannot remove another admin/);
  });

  it("refuses anyone removing the owner with PERMISSION_DENIED", () => {
    expectRefusal(() => decideRemoveMember(groupState(), "ada", "olga"), "forbidden", /owner/);
  });

  it("refuses a plain member removing anyone with PERMISSION_DENIED", () => {
    expectRefusal(() => decideRemoveMember(groupState(), "mia", "max"), "forbidden");
  });

  it("refuses a former member and a stranger with PERMISSION_DENIED (not-a-member)", () => {
    expectRefusal(() => decideRemoveMember(groupState(), "fred", "mia"), "not-a-member");
    expectRefusal(() => decideRemoveMember(groupState(), "stranger", "mia"), "not-a-member");
  });

  it("refuses removing a former member or a user who never was one with NOT_FOUND", () => {
    expectRefusal(() => decideRemoveMember(groupState(), "olga", "fred"), "target-not-member", /fred is not a member/);
    expectRefusal(() => decideRemoveMember(groupState(), "olga", "nobody"), "target-not-member");
  });

  it("refuses removing oneself with INVALID_ARGUMENT, pointing at LeaveGroup", () => {
    expectRefusal(() => decideRemoveMember(groupState(), "ada", "ada"), "invalid-argument", /LeaveGroup/);
    expectRefusal(() => decideRemoveMember(groupState(), "olga", "olga"), "invalid-argument", /LeaveGroup/);
  });

  it("refuses an empty user id with INVALID_ARGUMENT", () => {
    expectRefusal(() => decideRemoveMember(groupState(), "olga", ""), "invalid-argument", /user_id/);
  });

  it("refuses a direct conversation with FAILED_PRECONDITION (not-a-group)", () => {
    expectRefusal(() => decideRemoveMember(groupState({ kind: "direct" }), "olga", "mia"), "not-a-group");
  });
});
