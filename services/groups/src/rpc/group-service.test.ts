import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError, createClient, createRouterTransport, type Client, type ServiceImpl } from "@connectrpc/connect";
import { createTokenIssuer, createTokenVerifier, type TokenIssuer } from "@messenger/auth";
import { createLogger } from "@messenger/logging";
import { RelationsService } from "@messenger/proto/accounts/v1/relations_service";
import { ConversationKind, MemberRole, RetentionMode, type Message } from "@messenger/proto/chat/v1/types";
import { GroupService } from "@messenger/proto/groups/v1/group_service";
import { HistoryService } from "@messenger/proto/history/v1/history_service";
import { RouterService } from "@messenger/proto/router/v1/router_service";
import { StoreService, type ApplyGroupChangeRequest } from "@messenger/proto/store/v1/store_service";
import { instrumentRoute, type ServiceRoute } from "@messenger/rpc";
import { codeOf } from "@messenger/testing";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { retentionModeFromProto, roleFromProto, roleToProto } from "../adapters/store-group-store.js";
import { GroupError, StaleMemberVersionError } from "../domain/group-error.js";
import { member } from "../domain/group-fixture.js";
import type { GroupChange } from "../domain/group-state.js";
import { MemoryGroups } from "../domain/memory-groups.js";
import { createGroupsApp } from "../app.js";

// The handlers through Connect's in-memory transport, with small fakes of the peers over an
// in-memory group table. End-to-end tests against the real store belong to tests/.

const dir = mkdtempSync(join(tmpdir(), "messenger-groups-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const log = createLogger("groups-test", "silent");

let issuer: TokenIssuer;
beforeAll(async () => {
  issuer = await createTokenIssuer({ keyPath: join(dir, "key.json"), ttlSeconds: 600 });
});

function changeFromProto(c: ApplyGroupChangeRequest["change"]): GroupChange {
  switch (c.case) {
    case "create":
      return {
        kind: "create",
        title: c.value.title,
        description: c.value.description,
        memberUserIds: c.value.memberUserIds,
        retention: { mode: retentionModeFromProto(c.value.retention?.mode ?? RetentionMode.UNSPECIFIED) ?? "permanent", ttlSeconds: c.value.retention?.ttlSeconds ?? 0 },
      };
    case "addMembers":
      return { kind: "add-members", userIds: c.value.userIds };
    case "removeMember":
      return { kind: "remove-member", userId: c.value.userId };
    case "leave":
      return { kind: "leave" };
    case "setRole":
      return { kind: "set-role", userId: c.value.userId, role: roleFromProto(c.value.role) === "admin" ? "admin" : "member" };
    case "transferOwnership":
      return { kind: "transfer-ownership", toUserId: c.value.toUserId };
    case "updateInfo":
      return { kind: "update-info", title: c.value.title, description: c.value.description };
    default:
      throw new ConnectError("no change", Code.InvalidArgument);
  }
}

/** The store's internal group API over MemoryGroups, with the store's statuses. */
function fakeStore(db: MemoryGroups): Partial<ServiceImpl<typeof StoreService>> {
  const asStatus = (err: unknown): unknown =>
    err instanceof StaleMemberVersionError ? new ConnectError("member version moved", Code.Aborted) : err instanceof GroupError ? new ConnectError(err.message, Code.NotFound) : err;
  return {
    getGroupState(req) {
      try {
        const s = db.read(req.conversationId, req.userIds);
        return {
          kind: s.kind === "group" ? ConversationKind.GROUP : ConversationKind.DIRECT,
          title: s.title,
          description: s.description,
          memberVersion: s.memberVersion,
          memberCount: s.memberCount,
          lastSeq: s.lastSeq,
          members: [...s.members.values()].map((m) => ({ userId: m.userId, role: roleToProto(m.role), active: m.active, joinedSeq: m.joinedSeq })),
        };
      } catch (err) {
        throw asStatus(err);
      }
    },
    applyGroupChange(req) {
      try {
        const r = db.apply(req.conversationId, req.actorUserId, { change: changeFromProto(req.change), expectedMemberVersion: req.expectedMemberVersion });
        const event = { id: `m${r.seq}`, conversationId: req.conversationId, seq: r.seq, senderUserId: req.actorUserId, body: { case: "system" as const, value: { actorUserId: req.actorUserId } } };
        return { event, memberVersion: r.memberVersion, memberCount: r.memberCount };
      } catch (err) {
        throw asStatus(err);
      }
    },
    listMembers(req) {
      const page = db.list(req.conversationId, req.pageSize, req.pageToken);
      return { ...page, members: page.members.map((m) => ({ userId: m.userId, role: roleToProto(m.role), active: true, joinedSeq: m.joinedSeq })) };
    },
  };
}

interface World {
  db: MemoryGroups;
  delivered: Message[];
  /** What the router does with a delivery. */
  routerBehaviour: "ok" | "fail" | "hang";
  /** Who asked accounts about whom: "actor:peer,peer". */
  relationLookups: string[];
  /** "blocker>blocked" pairs. */
  blocks: Set<string>;
  groups: Client<typeof GroupService>;
  headersOf(userId: string): Promise<{ headers: { authorization: string } }>;
}

function client<S extends typeof StoreService | typeof RouterService | typeof RelationsService | typeof HistoryService>(service: S, impl: Partial<ServiceImpl<S>>): Client<S> {
  return createClient(service, createRouterTransport((r) => r.service(service, impl)));
}

function world(opts: { history?: Partial<ServiceImpl<typeof HistoryService>>; maxGroupMembers?: number } = {}): World {
  const db = new MemoryGroups();
  const known = new Set(["olga", "ada", "abe", "mia", "max", "fred", "nina", "otto"]);
  const state = { db, delivered: [] as Message[], routerBehaviour: "ok" as World["routerBehaviour"], relationLookups: [] as string[], blocks: new Set<string>() };
  const app = createGroupsApp({
    verifier: createTokenVerifier({ jwks: issuer.jwks() }),
    store: client(StoreService, fakeStore(db)),
    router: client(RouterService, {
      async deliverMessages(req, ctx) {
        if (state.routerBehaviour === "fail") throw new ConnectError("no gateway reachable", Code.Unavailable);
        if (state.routerBehaviour === "hang") await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
        state.delivered.push(...req.messages);
        return {};
      },
    }),
    relations: client(RelationsService, {
      getRelations(req) {
        state.relationLookups.push(`${req.userId}:${req.peerUserIds.join(",")}`);
        return {
          relations: req.peerUserIds.map((peerUserId) => ({ peerUserId, exists: known.has(peerUserId), blockedBy: state.blocks.has(`${peerUserId}>${req.userId}`) })),
        };
      },
    }),
    ...(opts.history ? { history: client(HistoryService, opts.history) } : {}),
    settings: { maxGroupMembers: opts.maxGroupMembers ?? 8, deliveryTimeoutMs: 200, retry: { attempts: 3, baseDelayMs: 1, random: Math.random, sleep: async () => {} } },
    log,
  });
  const routes: ServiceRoute[] = app.routes.map((r) => instrumentRoute(r, log));
  const transport = createRouterTransport((r) => {
    for (const route of routes) r.service(route.service, route.impl);
  });
  return Object.assign(state, {
    groups: createClient(GroupService, transport),
    async headersOf(userId: string) {
      return { headers: { authorization: `Bearer ${(await issuer.issue({ userId, deviceId: "phone" })).token}` } };
    },
  });
}

function seedClimbing(db: MemoryGroups): void {
  db.seed("grp_1", {
    title: "Climbing",
    members: [member("olga", "owner"), member("ada", "admin"), member("abe", "admin"), member("mia"), member("max"), member("fred", "member", false)],
  });
  db.seed("dm_1", { kind: "direct", members: [member("mia"), member("max")] });
}


describe("GroupService handlers", () => {
  let w: World;
  beforeEach(() => {
    w = world();
    seedClimbing(w.db);
  });

  it("creates a group and answers with the conversation as its owner sees it and its first message, delivered live", async () => {
    const res = await w.groups.createGroup({ title: "Trips", description: "weekends", memberUserIds: ["nina", "otto", "olga"] }, await w.headersOf("olga"));
    expect(res.conversation).toMatchObject({ kind: ConversationKind.GROUP, title: "Trips", description: "weekends", memberCount: 3, role: MemberRole.OWNER, isMember: true, lastSeq: 1n });
    expect(res.conversation?.id).toMatch(/^grp_[0-9a-f]{32}$/);
    expect(res.event?.seq).toBe(1n);
    expect(w.delivered.map((m) => m.id)).toEqual([res.event?.id]);
  });

  it("hands the store the retention a group is created with (permanent when none is asked), and refuses a mode it does not know with INVALID_ARGUMENT", async () => {
    const olga = await w.headersOf("olga");
    await w.groups.createGroup({ title: "Gone", memberUserIds: ["nina"], retention: { mode: RetentionMode.DISAPPEARING, ttlSeconds: 3600 } }, olga);
    await w.groups.createGroup({ title: "Relay", memberUserIds: ["nina"], retention: { mode: RetentionMode.STORE_AND_FORWARD } }, olga);
    await w.groups.createGroup({ title: "Kept", memberUserIds: ["nina"] }, olga);
    await w.groups.createGroup({ title: "Unsaid", memberUserIds: ["nina"], retention: { mode: RetentionMode.UNSPECIFIED, ttlSeconds: 60 } }, olga);
    expect(w.db.applied.map((a) => (a.change.kind === "create" ? [a.change.title, a.change.retention] : []))).toEqual([
      ["Gone", { mode: "disappearing", ttlSeconds: 3600 }],
      ["Relay", { mode: "store_and_forward", ttlSeconds: 0 }],
      ["Kept", { mode: "permanent", ttlSeconds: 0 }],
      ["Unsaid", { mode: "permanent", ttlSeconds: 0 }],
    ]);
    expect(await codeOf(w.groups.createGroup({ title: "Odd", memberUserIds: ["nina"], retention: { mode: 9 as RetentionMode } }, olga))).toBe("InvalidArgument");
    expect(w.db.applied).toHaveLength(4);
  });

  it("asks accounts about the added users as seen from the caller, and refuses one who blocks the caller with PERMISSION_DENIED", async () => {
    await w.groups.addMembers({ conversationId: "grp_1", userIds: ["nina"] }, await w.headersOf("olga"));
    expect(w.relationLookups).toEqual(["olga:nina"]);
    w.blocks.add("otto>olga");
    expect(await codeOf(w.groups.addMembers({ conversationId: "grp_1", userIds: ["otto"] }, await w.headersOf("olga")))).toBe("PermissionDenied");
  });

  it("answers each refusal with its gRPC status and changes nothing", async () => {
    const as = (u: string) => w.headersOf(u);
    const g = w.groups;
    const refused = {
      adminRemovesAdmin: await codeOf(g.removeMember({ conversationId: "grp_1", userId: "abe" }, await as("ada"))),
      memberAdds: await codeOf(g.addMembers({ conversationId: "grp_1", userIds: ["nina"] }, await as("mia"))),
      formerMemberAdds: await codeOf(g.addMembers({ conversationId: "grp_1", userIds: ["nina"] }, await as("fred"))),
      strangerLists: await codeOf(g.listMembers({ conversationId: "grp_1" }, await as("nina"))),
      unknownGroup: await codeOf(g.getGroup({ conversationId: "grp_nope" }, await as("olga"))),
      directConversation: await codeOf(g.addMembers({ conversationId: "dm_1", userIds: ["nina"] }, await as("mia"))),
      ownerLeaves: await codeOf(g.leaveGroup({ conversationId: "grp_1" }, await as("olga"))),
      allAlreadyMembers: await codeOf(g.addMembers({ conversationId: "grp_1", userIds: ["mia", "max"] }, await as("ada"))),
      overLimit: await codeOf(g.addMembers({ conversationId: "grp_1", userIds: ["nina", "otto", "fred", "x1"] }, await as("ada"))),
      unknownUser: await codeOf(g.addMembers({ conversationId: "grp_1", userIds: ["nina", "ghost"] }, await as("ada"))),
      removeNonMember: await codeOf(g.removeMember({ conversationId: "grp_1", userId: "fred" }, await as("olga"))),
      roleOwner: await codeOf(g.setMemberRole({ conversationId: "grp_1", userId: "mia", role: MemberRole.OWNER }, await as("olga"))),
      adminSetsRole: await codeOf(g.setMemberRole({ conversationId: "grp_1", userId: "mia", role: MemberRole.ADMIN }, await as("ada"))),
      blankTitle: await codeOf(g.updateGroupInfo({ conversationId: "grp_1", title: " " }, await as("olga"))),
      transferToStranger: await codeOf(g.transferOwnership({ conversationId: "grp_1", userId: "nina" }, await as("olga"))),
      hugePage: await codeOf(g.listMembers({ conversationId: "grp_1", pageSize: 501 }, await as("mia"))),
      noToken: await codeOf(g.getGroup({ conversationId: "grp_1" })),
    };
    expect(refused).toEqual({
      adminRemovesAdmin: "PermissionDenied",
      memberAdds: "PermissionDenied",
      formerMemberAdds: "PermissionDenied",
      strangerLists: "PermissionDenied",
      unknownGroup: "NotFound",
      directConversation: "FailedPrecondition",
      ownerLeaves: "FailedPrecondition",
      allAlreadyMembers: "AlreadyExists",
      overLimit: "ResourceExhausted",
      unknownUser: "NotFound",
      removeNonMember: "NotFound",
      roleOwner: "InvalidArgument",
      adminSetsRole: "PermissionDenied",
      blankTitle: "InvalidArgument",
      transferToStranger: "NotFound",
      hugePage: "InvalidArgument",
      noToken: "Unauthenticated",
    });
    expect(w.db.applied).toEqual([]);
    expect(w.delivered).toEqual([]);
  });

  it("answers ABORTED when the group keeps changing under every retry", async () => {
    const move = (): void => {
      const v = w.db.read("grp_1", []).memberVersion;
      w.db.apply("grp_1", "ada", { change: { kind: "update-info", title: `t${v}`, description: "" }, expectedMemberVersion: v });
      w.db.beforeNextApply = move;
    };
    w.db.beforeNextApply = move;
    expect(await codeOf(w.groups.removeMember({ conversationId: "grp_1", userId: "mia" }, await w.headersOf("olga")))).toBe("Aborted");
    expect(w.db.read("grp_1", ["mia"]).members.get("mia")?.active).toBe(true);
  });

  it("answers a committed change even when its live delivery fails: members get it on sync", async () => {
    w.routerBehaviour = "fail";
    const res = await w.groups.removeMember({ conversationId: "grp_1", userId: "mia" }, await w.headersOf("ada"));
    expect(res.event?.seq).toBe(2n);
    expect(w.db.read("grp_1", ["mia"]).members.get("mia")?.active).toBe(false);
  });

  it("does not keep the caller waiting on a stuck router longer than the delivery timeout", async () => {
    w.routerBehaviour = "hang";
    const started = Date.now();
    const res = await w.groups.updateGroupInfo({ conversationId: "grp_1", title: "Bouldering", description: "" }, await w.headersOf("ada"));
    expect(res.event?.seq).toBe(2n);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("answers a no-op info change and a no-op role change without an event", async () => {
    const olga = await w.headersOf("olga");
    expect((await w.groups.updateGroupInfo({ conversationId: "grp_1", title: "Climbing", description: "" }, olga)).event).toBeUndefined();
    expect((await w.groups.setMemberRole({ conversationId: "grp_1", userId: "ada", role: MemberRole.ADMIN }, olga)).event).toBeUndefined();
    expect(w.db.applied).toEqual([]);
  });

  it("lets a former member read the group header, marked as no longer a member", async () => {
    const res = await w.groups.getGroup({ conversationId: "grp_1" }, await w.headersOf("fred"));
    expect(res.conversation).toMatchObject({ id: "grp_1", title: "Climbing", isMember: false, role: MemberRole.UNSPECIFIED, memberCount: 5 });
  });

  it("lists members with their roles, page by page", async () => {
    const mia = await w.headersOf("mia");
    const first = await w.groups.listMembers({ conversationId: "grp_1", pageSize: 3 }, mia);
    expect(first.members.map((m) => [m.userId, MemberRole[m.role]])).toEqual([
      ["abe", "ADMIN"],
      ["ada", "ADMIN"],
      ["max", "MEMBER"],
    ]);
    const second = await w.groups.listMembers({ conversationId: "grp_1", pageSize: 3, pageToken: first.nextPageToken }, mia);
    expect([second.members.map((m) => m.userId), second.nextPageToken, second.memberCount]).toEqual([["mia", "olga"], "", 5]);
  });

  it("answers GetGroup with the history view, asked with the caller's token, and with the header when history fails", async () => {
    const seen: string[] = [];
    let failing = false;
    w = world({
      history: {
        getConversation(req, ctx) {
          seen.push(ctx.requestHeader.get("authorization") ?? "");
          if (failing) throw new ConnectError("store busy", Code.Unavailable);
          return { conversation: { id: req.conversationId, kind: ConversationKind.GROUP, title: "from history", unreadCount: 3n } };
        },
      },
    });
    seedClimbing(w.db);
    const mia = await w.headersOf("mia");
    expect((await w.groups.getGroup({ conversationId: "grp_1" }, mia)).conversation).toMatchObject({ title: "from history", unreadCount: 3n });
    expect(seen).toEqual([mia.headers.authorization]);
    failing = true;
    expect((await w.groups.getGroup({ conversationId: "grp_1" }, mia)).conversation).toMatchObject({ title: "Climbing", role: MemberRole.MEMBER, isMember: true });
    expect(await codeOf(w.groups.getGroup({ conversationId: "grp_1" }, await w.headersOf("nina")))).toBe("PermissionDenied");
    expect(seen).toHaveLength(2);
  });
});
