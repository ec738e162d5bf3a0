import { describe, expect, it } from "vitest";
import { expectRefusal } from "./expect-refusal.js";
import { groupState } from "./group-fixture.js";
import { decideTransferOwnership } from "./transfer-ownership.js";

describe("decideTransferOwnership", () => {
  it("lets the owner hand the group to a member or an admin", () => {
    expect(decideTransferOwnership(groupState(), "olga", "mia")).toEqual({ change: { kind: "transfer-ownership", toUserId: "mia" }, expectedMemberVersion: 7n });
    expect(decideTransferOwnership(groupState(), "olga", "ada").change).toEqual({ kind: "transfer-ownership", toUserId: "ada" });
  });

  it("refuses an admin or a member transferring ownership with PERMISSION_DENIED", () => {
    expectRefusal(() => decideTransferOwnership(groupState(), "ada", "mia"), "forbidden", /only the owner/);
    expectRefusal(() => decideTransferOwnership(groupState(), "mia", "max"), "forbidden");
  });

  it("refuses handing the group to a former member or a stranger with NOT_FOUND", () => {
    expectRefusal(() => decideTransferOwnership(groupState(), "olga", "fred"), "target-not-member");
    expectRefusal(() => decideTransferOwnership(groupState(), "olga", "nobody"), "target-not-member");
  });

  it("refuses the owner transferring to themselves with FAILED_PRECONDITION", () => {
    expectRefusal(() => decideTransferOwnership(groupState(), "olga", "olga"), "failed-precondition", /already own/);
  });

  it("refuses a stranger with PERMISSION_DENIED (not-a-member)", () => {
    expectRefusal(() => decideTransferOwnership(groupState(), "stranger", "mia"), "not-a-member");
  });

  it("refuses a direct conversation with FAILED_PRECONDITION (not-a-group)", () => {
    expectRefusal(() => decideTransferOwnership(groupState({ kind: "direct" }), "olga", "mia"), "not-a-group");
  });
});
