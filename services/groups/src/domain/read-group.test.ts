import { describe, expect, it } from "vitest";
import { expectRefusal } from "./expect-refusal.js";
import { groupState } from "./group-fixture.js";
import { authorizeGetGroup, authorizeListMembers } from "./read-group.js";

describe("authorizeGetGroup", () => {
  it("lets a current member read the group and returns their membership", () => {
    expect(authorizeGetGroup(groupState(), "ada")).toMatchObject({ userId: "ada", role: "admin", active: true });
  });

  it("lets a former member still read the group header", () => {
    expect(authorizeGetGroup(groupState(), "fred")).toMatchObject({ userId: "fred", active: false });
  });

  it("refuses a user who never was a member with PERMISSION_DENIED", () => {
    expectRefusal(() => authorizeGetGroup(groupState(), "stranger"), "not-a-member");
  });

  it("refuses a direct conversation with FAILED_PRECONDITION (not-a-group)", () => {
    expectRefusal(() => authorizeGetGroup(groupState({ kind: "direct" }), "mia"), "not-a-group");
  });
});

describe("authorizeListMembers", () => {
  it("lets a current member list members, 100 per page when no size is asked", () => {
    expect(authorizeListMembers(groupState(), "mia", 0)).toBe(100);
    expect(authorizeListMembers(groupState(), "mia", 500)).toBe(500);
  });

  it("refuses a former member and a stranger with PERMISSION_DENIED", () => {
    expectRefusal(() => authorizeListMembers(groupState(), "fred", 0), "not-a-member");
    expectRefusal(() => authorizeListMembers(groupState(), "stranger", 0), "not-a-member");
  });

  it("refuses a page size over 500 with INVALID_ARGUMENT", () => {
    expectRefusal(() => authorizeListMembers(groupState(), "mia", 501), "invalid-argument", /page_size/);
  });
});
