import type { SessionRecord } from "@messenger/bus";
import { DomainError } from "@messenger/rpc/domain-error";
import { describe, expect, it } from "vitest";
import type { MemberRange } from "./member-ranges.js";
import { MembershipCache } from "./membership-cache.js";
import type { Frame } from "./ports.js";
import { setTyping, typingTtlMs } from "./typing.js";

const session = (sessionId: string, userId: string, gatewayId: string): SessionRecord => ({ sessionId, userId, deviceId: sessionId, gatewayId });
const open = (userId: string): MemberRange => ({ userId, fromSeq: 1, toSeq: 0 });

function setup(ranges: readonly MemberRange[], opts: { blocked?: boolean; largeGroupThreshold?: number } = {}) {
  const published: { gatewayId: string; userIds: string[]; frame: Frame; exclude: string }[] = [];
  const sessions = [session("alice-phone", "alice", "gw-1"), session("alice-laptop", "alice", "gw-2"), session("bob-phone", "bob", "gw-1"), session("carol-phone", "carol", "gw-2")];
  const deps = {
    memberships: new MembershipCache({
      memberRanges: async () => ({ version: 1, unchanged: false, memberCount: ranges.filter((r) => r.toSeq === 0).length, ranges, blocked: opts.blocked ?? false }),
    }),
    sessions: { sessionsOf: async (userIds: readonly string[]) => sessions.filter((s) => userIds.includes(s.userId)) },
    publish: (gatewayId: string, userIds: readonly string[], frame: Frame, exclude: string) => void published.push({ gatewayId, userIds: [...userIds].sort(), frame, exclude }),
    largeGroupThreshold: opts.largeGroupThreshold ?? 256,
  };
  return { deps, published };
}

const typing = (userId: string, sessionId: string, conversationId = "g1") => ({ userId, sessionId, conversationId, typing: true });

describe("setTyping", () => {
  it("tells the other current members, once per gateway, and not the typist's own devices", async () => {
    const { deps, published } = setup(["alice", "bob", "carol", { userId: "dave", fromSeq: 1, toSeq: 4 }].map((r) => (typeof r === "string" ? open(r) : r)));
    await setTyping(deps, typing("alice", "alice-phone"));
    expect(published.map((p) => [p.gatewayId, p.userIds, p.exclude]).sort()).toEqual([
      ["gw-1", ["bob"], "alice-phone"],
      ["gw-2", ["carol"], "alice-phone"],
    ]);
    expect(published[0]!.frame.frame).toEqual({ case: "typing", value: { conversationId: "g1", userId: "alice", typing: true, expiresInMs: typingTtlMs } });
  });

  it("refuses a user who is not a current member with permission_denied, and pushes nothing", async () => {
    const { deps, published } = setup([open("bob"), open("carol"), { userId: "alice", fromSeq: 1, toSeq: 9 }]);
    await expect(setTyping(deps, typing("alice", "alice-phone"))).rejects.toMatchObject({ name: "DomainError", kind: "permission_denied" });
    expect(published).toEqual([]);
  });

  it("refuses typing in a blocked direct conversation with permission_denied", async () => {
    const { deps, published } = setup([open("alice"), open("bob")], { blocked: true });
    await expect(setTyping(deps, typing("alice", "alice-phone"))).rejects.toMatchObject({ kind: "permission_denied", message: /blocked/ });
    expect(published).toEqual([]);
  });

  it("refuses a request without a conversation with invalid_argument", async () => {
    const { deps } = setup([open("alice")]);
    await expect(setTyping(deps, typing("alice", "alice-phone", ""))).rejects.toBeInstanceOf(DomainError);
    await expect(setTyping(deps, typing("alice", "alice-phone", ""))).rejects.toMatchObject({ kind: "invalid_argument" });
  });

  it("pushes nothing in a large group", async () => {
    const { deps, published } = setup([open("alice"), open("bob"), open("carol")], { largeGroupThreshold: 2 });
    await setTyping(deps, typing("alice", "alice-phone"));
    expect(published).toEqual([]);
  });
});
