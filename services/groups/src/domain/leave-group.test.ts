import { describe, expect, it } from "vitest";
import { expectRefusal } from "./expect-refusal.js";
import { groupState } from "./group-fixture.js";
import { decideLeaveGroup } from "./leave-group.js";

describe("decideLeaveGroup", () => {
  it("lets an admin or a member leave", () => {
    expect(decideLeaveGroup(groupState(), "ada")).toEqual({ change: { kind: "leave" }, expectedMemberVersion: 7n });
    expect(decideLeaveGroup(groupState(), "mia").change).toEqual({ kind: "leave" });
  });

  it("refuses the owner leaving before handing over ownership with FAILED_PRECONDITION", () => {
    expectRefusal(() => decideLeaveGroup(groupState(), "olga"), "failed-precondition", /transfer ownership/);
  });

  it("refuses a former member leaving again and a stranger with PERMISSION_DENIED (not-a-member)", () => {
    expectRefusal(() => decideLeaveGroup(groupState(), "fred"), "not-a-member");
    expectRefusal(() => decideLeaveGroup(groupState(), "stranger"), "not-a-member");
  });

  it("refuses a direct conversation with FAILED_PRECONDITION (not-a-group)", () => {
    expectRefusal(() => decideLeaveGroup(groupState({ kind: "direct" }), "mia"), "not-a-group");
  });
});
