import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { MemberRole, RetentionMode, SystemEventSchema } from "@messenger/proto/chat/v1/types";
import { describe, expect, it } from "vitest";
import { describeSystemEvent, formatDuration, userIdsIn } from "./system-event.js";

const users: Record<string, string> = { a: "alice", b: "bob", c: "carol", me: "you" };
const nameOf = (id: string): string => users[id] ?? id;
const ev = (actor: string, event: MessageInitShape<typeof SystemEventSchema>["event"]) => create(SystemEventSchema, { actorUserId: actor, event });

describe("describeSystemEvent", () => {
  it("renders each kind of group change as one line", () => {
    const cases: [ReturnType<typeof ev>, string][] = [
      [ev("a", { case: "groupCreated", value: { title: "Trip", memberUserIds: ["a", "b", "c"] } }), "alice created the group “Trip” with bob, carol"],
      [ev("a", { case: "groupCreated", value: { title: "Alone", memberUserIds: ["a"] } }), "alice created the group “Alone”"],
      [
        ev("a", { case: "groupCreated", value: { title: "Trip", memberUserIds: ["a", "b"], retention: { mode: RetentionMode.DISAPPEARING, ttlSeconds: 3_600 } } }),
        "alice created the group “Trip” with bob; messages disappear after 1 hour",
      ],
      [
        ev("a", { case: "groupCreated", value: { title: "Relay", memberUserIds: ["a"], retention: { mode: RetentionMode.STORE_AND_FORWARD } } }),
        "alice created the group “Relay”; messages are deleted from the server once delivered",
      ],
      [ev("a", { case: "groupCreated", value: { title: "Kept", memberUserIds: ["a", "b"], retention: { mode: RetentionMode.PERMANENT } } }), "alice created the group “Kept” with bob"],
      [ev("a", { case: "membersAdded", value: { userIds: ["b", "c"] } }), "alice added bob, carol"],
      [ev("b", { case: "membersAdded", value: { userIds: ["b"] } }), "bob joined"],
      [ev("a", { case: "memberRemoved", value: { userId: "b" } }), "alice removed bob"],
      [ev("b", { case: "memberLeft", value: { userId: "b" } }), "bob left"],
      [ev("a", { case: "roleChanged", value: { userId: "b", role: MemberRole.ADMIN } }), "alice made bob an admin"],
      [ev("a", { case: "roleChanged", value: { userId: "b", role: MemberRole.MEMBER } }), "alice made bob a member"],
      [ev("a", { case: "ownershipTransferred", value: { fromUserId: "a", toUserId: "b" } }), "alice handed ownership to bob"],
      [ev("a", { case: "infoChanged", value: { title: "Trip 2026" } }), "alice renamed the group to “Trip 2026”"],
      [ev("a", { case: "infoChanged", value: { title: "T", description: "plans" } }), "alice renamed the group to “T” (description: “plans”)"],
      [ev("a", { case: "retentionChanged", value: { retention: { mode: RetentionMode.DISAPPEARING, ttlSeconds: 86_400 } } }), "alice set messages to disappear after 1 day"],
      [ev("a", { case: "retentionChanged", value: { retention: { mode: RetentionMode.STORE_AND_FORWARD } } }), "alice set messages to be deleted from the server once delivered"],
      [ev("a", { case: "retentionChanged", value: { retention: { mode: RetentionMode.PERMANENT } } }), "alice set messages to be kept"],
      [ev("me", { case: "membersAdded", value: { userIds: ["b"] } }), "you added bob"],
      [ev("a", { case: "roleChanged", value: { userId: "me", role: MemberRole.ADMIN } }), "alice made you an admin"],
      [ev("a", { case: undefined }), "alice changed the conversation"],
    ];
    for (const [e, line] of cases) expect(describeSystemEvent(e, nameOf)).toBe(line);
  });

  it("makes control characters in titles visible and shows unknown users by id", () => {
    expect(describeSystemEvent(ev("zz", { case: "infoChanged", value: { title: "a\u001b[2Jb" } }), nameOf)).toBe("zz renamed the group to “a\\u001b[2Jb”");
  });

  it("lists every user an event names, for name look-ups", () => {
    expect(userIdsIn(ev("a", { case: "groupCreated", value: { title: "T", memberUserIds: ["a", "b"] } }))).toEqual(["a", "a", "b"]);
    expect(userIdsIn(ev("a", { case: "ownershipTransferred", value: { fromUserId: "a", toUserId: "c" } }))).toEqual(["a", "a", "c"]);
    expect(userIdsIn(ev("a", { case: "infoChanged", value: { title: "T" } }))).toEqual(["a"]);
  });

  it("formats durations in their largest whole unit", () => {
    expect([30, 60, 3_600, 5_400, 86_400 * 2, 86_400 * 7].map(formatDuration)).toEqual(["30 seconds", "1 minute", "1 hour", "90 minutes", "2 days", "1 week"]);
  });
});
