import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { createTokenIssuer, createTokenVerifier, type TokenIssuer } from "@messenger/auth";
import { createMemoryBus, createMemorySessionRegistry } from "@messenger/bus";
import { createLogger } from "@messenger/logging";
import { RelationsService } from "@messenger/proto/accounts/v1/relations_service";
import { PresenceService, SessionService } from "@messenger/proto/presence/v1/presence_service";
import { instrumentRoute } from "@messenger/rpc";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createPresenceApp, type PresenceApp } from "../src/app.js";
import { FakeRelations } from "../src/domain/fake-relations.js";
import { ManualClock } from "../src/domain/manual-clock.js";
import { openSqliteLastSeenStore } from "../src/storage/sqlite-last-seen-store.js";

// The presence routes as every transport serves them (through instrumentRoute), over
// Connect's in-memory transport, with accounts' RelationsService faked behind a transport too.

const dir = mkdtempSync(join(tmpdir(), "messenger-presence-routes-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const log = createLogger("presence-routes-test", "silent");

let issuer: TokenIssuer;
beforeAll(async () => {
  issuer = await createTokenIssuer({ keyPath: join(dir, "key.json"), ttlSeconds: 600 });
});

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function serve(relations: FakeRelations, clock = new ManualClock()) {
  const bus = createMemoryBus();
  const registry = createMemorySessionRegistry(60_000);
  const lastSeen = openSqliteLastSeenStore(join(dir, `${Math.random().toString(36).slice(2)}.db`));
  const app: PresenceApp = createPresenceApp({
    registry,
    bus,
    relations: createClient(RelationsService, createRouterTransport((r) => r.service(RelationsService, relations))),
    lastSeen,
    verifier: createTokenVerifier({ jwks: issuer.jwks() }),
    log,
    sweepIntervalMs: 60_000,
    announceWindowMs: 1_000,
    clock,
  });
  cleanups.push(async () => {
    await app.close();
    await Promise.all([lastSeen.close(), registry.close(), bus.close()]);
  });
  const transport = createRouterTransport((router) => {
    for (const route of app.routes.map((r) => instrumentRoute(r, log))) router.service(route.service, route.impl as never);
  });
  const presence = createClient(PresenceService, transport);
  const sessions = createClient(SessionService, transport);
  return {
    app,
    sessions,
    async getPresence(viewer: string, userIds: string[]) {
      const { token } = await issuer.issue({ userId: viewer, deviceId: "phone" });
      const res = await presence.getPresence({ userIds }, { headers: { authorization: `Bearer ${token}` } });
      return res.presences.map((p) => ({ userId: p.userId, online: p.online, lastSeenAt: p.lastSeenAt ? timestampMs(p.lastSeenAt) : 0 }));
    },
    presence,
  };
}

const everyone = ["alice", "bob", "carol", "dave", "eve", "frank"];

describe("PresenceService.GetPresence", () => {
  it("answers for the caller and the users whose presence they may see; others are left out like unknown ids", async () => {
    // bob's contacts: alice (visible), carol (shows presence to nobody), eve (blocks bob),
    // frank (bob blocks him). dave shares nothing with bob.
    const relations = new FakeRelations(everyone)
      .befriend("bob", "alice")
      .befriend("bob", "carol")
      .hide("carol")
      .befriend("bob", "eve")
      .block("eve", "bob")
      .befriend("bob", "frank")
      .block("bob", "frank");
    const clock = new ManualClock();
    const s = serve(relations, clock);
    for (const u of everyone) await s.sessions.registerSession({ sessionId: `s-${u}`, userId: u, deviceId: "phone", gatewayId: "gw-1" });
    clock.advance(5_000);
    await s.sessions.endSession({ sessionId: "s-alice" });
    const aliceLeft = clock.now();
    // Past the offline grace window (inside it alice is still shown online).
    clock.advance(1_000);

    expect(await s.getPresence("bob", ["alice", "carol", "dave", "eve", "frank", "ghost", "bob"])).toEqual([
      { userId: "alice", online: false, lastSeenAt: aliceLeft },
      { userId: "bob", online: true, lastSeenAt: 0 },
    ]);
    // Seen from dave, who is nobody's contact, only dave exists.
    expect(await s.getPresence("dave", ["alice", "bob", "dave"])).toEqual([{ userId: "dave", online: true, lastSeenAt: 0 }]);
  });

  it("refuses more than 500 user ids with INVALID_ARGUMENT and a call without a token with UNAUTHENTICATED", async () => {
    const s = serve(new FakeRelations(everyone));
    const tooMany = Array.from({ length: 501 }, (_, i) => `u${i}`);
    const err = await s.getPresence("bob", tooMany).catch((e: unknown) => ConnectError.from(e));
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
    expect(await s.getPresence("bob", tooMany.slice(0, 500))).toEqual([]);
    const anonymous = await s.presence.getPresence({ userIds: ["bob"] }).catch((e: unknown) => ConnectError.from(e));
    expect((anonymous as ConnectError).code).toBe(Code.Unauthenticated);
  });
});
