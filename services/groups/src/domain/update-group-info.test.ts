import { describe, expect, it } from "vitest";
import { expectRefusal } from "./expect-refusal.js";
import { groupState } from "./group-fixture.js";
import { decideUpdateGroupInfo } from "./update-group-info.js";

describe("decideUpdateGroupInfo", () => {
  it("lets the owner and an admin change the title and description at the read member version", () => {
    for (const actor of ["olga", "ada"]) {
      expect(decideUpdateGroupInfo(groupState(), actor, "Bouldering", "Sundays")).toEqual({
        change: { kind: "update-info", title: "Bouldering", description: "Sundays" },
        expectedMemberVersion: 7n,
      });
    }
  });

  it("commits nothing when title and description already are the asked ones", () => {
    expect(decideUpdateGroupInfo(groupState(), "olga", "Climbing", "Saturday trips")).toBeNull();
  });

  it("refuses a plain member with PERMISSION_DENIED (forbidden)", () => {
    expectRefusal(() => decideUpdateGroupInfo(groupState(), "mia", "New", ""), "forbidden", /owner and admins/);
  });

  it("refuses a former member and a stranger with PERMISSION_DENIED (not-a-member)", () => {
    expectRefusal(() => decideUpdateGroupInfo(groupState(), "fred", "New", ""), "not-a-member");
    expectRefusal(() => decideUpdateGroupInfo(groupState(), "stranger", "New", ""), "not-a-member");
  });

  it("refuses a bad title with INVALID_ARGUMENT before looking at the caller", () => {
    expectRefusal(() => decideUpdateGroupInfo(groupState(), "stranger", "", ""), "invalid-argument");
  });

  it("refuses a direct conversation with FAILED_PRECONDITION (not-a-group)", () => {
    expectRefusal(() => decideUpdateGroupInfo(groupState({ kind: "direct" }), "olga", "New", ""), "not-a-group");
  });
});
