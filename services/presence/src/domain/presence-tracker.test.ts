import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { createMemoryBus, createMemorySessionRegistry, deliveryCodec, subjects, type Bus, type SessionRegistry } from "@messenger/bus";
import { createLogger } from "@messenger/logging";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { createMemoryAnnounceBoard, type AnnounceBoard } from "../storage/announce-board.js";
import type { LastSeenStore } from "../storage/last-seen-store.js";
import { openSqliteLastSeenStore } from "../storage/sqlite-last-seen-store.js";
import { FakeRelations } from "./fake-relations.js";
import { ManualClock } from "./manual-clock.js";
import type { PresenceState } from "./presence-state.js";
import { PresenceTracker, type PresenceCounters } from "./presence-tracker.js";

const dir = mkdtempSync(join(tmpdir(), "messenger-presence-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const log = createLogger("presence-test", "silent");
const windowMs = 1_000;

/** Every presence frame each user's gateway was asked to deliver, in order. */
function watchFrames(bus: Bus, userIds: readonly string[]): Map<string, PresenceState[]> {
  const frames = new Map<string, PresenceState[]>(userIds.map((u) => [u, []]));
  for (const watcher of userIds) {
    bus.subscribe(subjects.gatewayDeliveries(`gw-${watcher}`), (bytes) => {
      const d = deliveryCodec.decode(bytes);
      const p = d.frame?.frame.case === "presence" ? d.frame.frame.value.presence : undefined;
      if (!p) return;
      for (const u of d.userIds) frames.get(u)?.push({ userId: p.userId, online: p.online, lastSeenAt: p.lastSeenAt ? timestampMs(p.lastSeenAt) : 0 });
    });
  }
  return frames;
}

interface World {
  tracker: PresenceTracker;
  clock: ManualClock;
  registry: SessionRegistry;
  lastSeen: LastSeenStore;
  frames: Map<string, PresenceState[]>;
  online(userId: string): Promise<void>;
  offline(userId: string): Promise<void>;
  /** Lets every send started so far finish and the in-process bus deliver it. */
  settle(): Promise<void>;
}

const opened: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const c of opened.splice(0).reverse()) await c.close();
});

let files = 0;
async function world(relations: FakeRelations, opts: { lastSeenPath?: string; registryTtlMs?: number; clock?: ManualClock } = {}): Promise<World> {
  const clock = opts.clock ?? new ManualClock();
  const bus = createMemoryBus();
  const registry = createMemorySessionRegistry(opts.registryTtlMs ?? 60_000);
  const lastSeen = openSqliteLastSeenStore(opts.lastSeenPath ?? join(dir, `last-seen-${++files}.db`));
  const tracker = new PresenceTracker({ registry, bus, relations, lastSeen, log, announceWindowMs: windowMs, clock });
  opened.push(bus, registry, lastSeen, tracker);
  const frames = watchFrames(bus, ["alice", "bob", "carol", "dave", "eve"]);
  const settle = async (): Promise<void> => {
    await tracker.idle();
    await new Promise((r) => setImmediate(r));
  };
  return {
    tracker,
    clock,
    registry,
    lastSeen,
    frames,
    settle,
    online: (u) => tracker.register({ sessionId: `s-${u}`, userId: u, deviceId: "phone", gatewayId: `gw-${u}` }),
    offline: (u) => tracker.end(`s-${u}`),
  };
}

const everyone = ["alice", "bob", "carol", "dave", "eve"];

/** What the tracker counted since `before`. */
function countedSince(tracker: PresenceTracker, before: PresenceCounters): PresenceCounters {
  const now = tracker.counters;
  return { announcements: now.announcements - before.announcements, framesSent: now.framesSent - before.framesSent, held: now.held - before.held };
}

describe("PresenceTracker announcements", () => {
  it("go to the online members of the user's audience only, never to a user who shares nothing", async () => {
    // bob and carol are alice's contacts (carol is offline); eve is a contact alice blocks;
    // dave is online and shares nothing with alice.
    const relations = new FakeRelations(everyone).befriend("alice", "bob").befriend("alice", "carol").befriend("alice", "eve").block("alice", "eve");
    const w = await world(relations);
    for (const u of ["bob", "dave", "eve"]) await w.online(u);
    await w.settle();
    for (const u of everyone) w.frames.get(u)!.length = 0;
    const before = w.tracker.counters;

    await w.online("alice");
    await w.settle();
    expect(w.frames.get("bob")).toEqual([{ userId: "alice", online: true, lastSeenAt: 0 }]);
    for (const u of ["carol", "dave", "eve"]) expect(w.frames.get(u)).toEqual([]);

    w.clock.advance(windowMs);
    const leftAt = w.clock.now();
    await w.offline("alice");
    // Going offline is announced once the grace window has passed without a reconnect.
    w.clock.advance(windowMs);
    await w.settle();
    expect(w.frames.get("bob")).toEqual([
      { userId: "alice", online: true, lastSeenAt: 0 },
      { userId: "alice", online: false, lastSeenAt: leftAt },
    ]);
    for (const u of ["carol", "dave", "eve"]) expect(w.frames.get(u)).toEqual([]);
    expect(countedSince(w.tracker, before)).toEqual({ announcements: 2, framesSent: 2, held: 1 });
  });

  it("reach nobody when the user shows presence to nobody, though last seen is still kept", async () => {
    const relations = new FakeRelations(everyone).befriend("alice", "bob").hide("alice");
    const w = await world(relations);
    await w.online("bob");
    await w.online("alice");
    w.clock.advance(windowMs);
    await w.offline("alice");
    const leftAt = w.clock.now();
    w.clock.advance(windowMs);
    await w.settle();
    expect(w.frames.get("bob")).toEqual([]);
    expect((await w.lastSeen.get(["alice"])).get("alice")).toBe(leftAt);
  });

  it("treat a session whose gateway stopped refreshing as gone: last seen stored and announced", async () => {
    const relations = new FakeRelations(everyone).befriend("alice", "bob");
    // A TTL of 0: every session is past it at the next sweep.
    const w = await world(relations, { registryTtlMs: 0 });
    await w.online("alice");
    w.clock.advance(windowMs);
    await w.online("bob");
    await w.settle();
    expect(await w.tracker.sweep()).toBe(2);
    const sweptAt = w.clock.now();
    w.clock.advance(windowMs);
    await w.settle();
    expect((await w.lastSeen.get(["alice", "bob"])).get("alice")).toBe(sweptAt);
    // Both went offline: neither is online to be told.
    expect(w.frames.get("bob")).toEqual([]);
    expect(w.frames.get("alice")).toEqual([{ userId: "bob", online: true, lastSeenAt: 0 }]);
  });
});

describe("PresenceTracker coalescing", () => {
  it("announces a user flapping 50 times in a window at most twice to each contact, ending with the true final state", async () => {
    const relations = new FakeRelations(everyone).befriend("alice", "bob").befriend("alice", "carol");
    const w = await world(relations);
    await w.online("bob");
    await w.online("carol");
    await w.settle();
    const before = w.tracker.counters;
    const windowStart = w.clock.now();
    let lastLeft = 0;
    for (let i = 0; i < 50; i++) {
      await w.online("alice");
      w.clock.advance(5);
      await w.offline("alice");
      lastLeft = w.clock.now();
      // Stored on every went-offline, held announcement or not.
      expect((await w.lastSeen.get(["alice"])).get("alice")).toBe(lastLeft);
      w.clock.advance(5);
    }
    await w.settle();
    expect(w.clock.now() - windowStart).toBeLessThan(windowMs);
    expect(w.frames.get("bob")).toEqual([{ userId: "alice", online: true, lastSeenAt: 0 }]);

    w.clock.advance(windowMs);
    await w.settle();
    const expected = [
      { userId: "alice", online: true, lastSeenAt: 0 },
      { userId: "alice", online: false, lastSeenAt: lastLeft },
    ];
    expect(w.frames.get("bob")).toEqual(expected);
    expect(w.frames.get("carol")).toEqual(expected);
    // 100 changes: the first sent at once, 99 held, of which only the last went out.
    expect(countedSince(w.tracker, before)).toEqual({ announcements: 2, framesSent: 4, held: 99 });

    // Nothing more once the next window passes quietly...
    w.clock.advance(windowMs);
    await w.settle();
    expect(w.frames.get("bob")).toHaveLength(2);
    expect(w.clock.pending()).toBe(0);
    // ...and the first change after the quiet period goes out at once.
    await w.online("alice");
    await w.settle();
    expect(w.frames.get("bob")).toEqual([...expected, { userId: "alice", online: true, lastSeenAt: 0 }]);
  });

  it("a reconnect within the grace window costs watchers nothing; a longer absence is announced once", async () => {
    const relations = new FakeRelations(everyone).befriend("alice", "bob");
    const w = await world(relations);
    await w.online("bob");
    await w.online("alice");
    w.clock.advance(windowMs * 3);
    await w.settle();
    const before = w.tracker.counters;
    await w.offline("alice");
    w.clock.advance(windowMs / 2);
    await w.online("alice");
    w.clock.advance(windowMs * 3);
    await w.settle();
    expect(w.frames.get("bob")).toEqual([{ userId: "alice", online: true, lastSeenAt: 0 }]);
    expect(countedSince(w.tracker, before)).toEqual({ announcements: 0, framesSent: 0, held: 2 });

    await w.offline("alice");
    const leftAt = w.clock.now();
    w.clock.advance(windowMs - 1);
    await w.settle();
    expect(w.frames.get("bob")).toHaveLength(1);
    w.clock.advance(1);
    await w.settle();
    expect(w.frames.get("bob")).toEqual([
      { userId: "alice", online: true, lastSeenAt: 0 },
      { userId: "alice", online: false, lastSeenAt: leftAt },
    ]);
  });

  it("inside the offline grace window readers see the user online, as watchers do; after it, offline", async () => {
    const relations = new FakeRelations(everyone).befriend("alice", "bob");
    const w = await world(relations);
    await w.online("bob");
    await w.online("alice");
    w.clock.advance(windowMs * 2);
    await w.offline("alice");
    const leftAt = w.clock.now();
    expect(await w.tracker.presenceVisibleTo("bob", ["alice"])).toEqual([{ userId: "alice", online: true, lastSeenAt: 0 }]);
    w.clock.advance(windowMs);
    await w.settle();
    expect(await w.tracker.presenceVisibleTo("bob", ["alice"])).toEqual([{ userId: "alice", online: false, lastSeenAt: leftAt }]);
  });

  it("drops a held offline when the user has a session again by the time it is sent (a reconnect through another presence replica)", async () => {
    const relations = new FakeRelations(everyone).befriend("alice", "bob");
    const w = await world(relations);
    await w.online("bob");
    await w.online("alice");
    w.clock.advance(windowMs * 2);
    await w.settle();
    await w.offline("alice");
    // Another replica registers alice's reconnect: this tracker never hears of it.
    await w.registry.put({ sessionId: "s-alice-2", userId: "alice", deviceId: "phone", gatewayId: "gw-alice" });
    w.clock.advance(windowMs);
    await w.settle();
    expect(w.frames.get("bob")).toEqual([{ userId: "alice", online: true, lastSeenAt: 0 }]);
  });

  it("sends held changes at once when it closes, so a shutdown leaves no watcher with a stale state", async () => {
    const relations = new FakeRelations(everyone).befriend("alice", "bob");
    const w = await world(relations);
    await w.online("bob");
    await w.online("alice");
    w.clock.advance(windowMs * 2);
    await w.offline("alice");
    const leftAt = w.clock.now();
    await w.settle();
    expect(w.frames.get("bob")).toHaveLength(1);
    await w.tracker.close();
    await w.settle();
    expect(w.frames.get("bob")).toEqual([
      { userId: "alice", online: true, lastSeenAt: 0 },
      { userId: "alice", online: false, lastSeenAt: leftAt },
    ]);
    expect(w.clock.pending()).toBe(0);
  });

  it("sends nothing at the window's end when the user is back in the state last announced", async () => {
    const relations = new FakeRelations(everyone).befriend("alice", "bob");
    const w = await world(relations);
    await w.online("bob");
    await w.settle();
    const before = w.tracker.counters;
    await w.online("alice");
    for (let i = 0; i < 50; i++) {
      w.clock.advance(5);
      await w.offline("alice");
      w.clock.advance(5);
      await w.online("alice");
    }
    w.clock.advance(windowMs);
    await w.settle();
    expect(w.frames.get("bob")).toEqual([{ userId: "alice", online: true, lastSeenAt: 0 }]);
    expect(countedSince(w.tracker, before)).toEqual({ announcements: 1, framesSent: 1, held: 100 });
  });

  it("keeps holding while the user keeps changing: one announcement per window after the first", async () => {
    const relations = new FakeRelations(everyone).befriend("alice", "bob");
    const w = await world(relations);
    await w.online("bob");
    await w.online("alice");
    w.clock.advance(windowMs / 2);
    await w.offline("alice");
    const firstLeft = w.clock.now();
    w.clock.advance(windowMs / 2);
    await w.settle();
    expect(w.frames.get("bob")!.map((f) => f.online)).toEqual([true, false]);
    // The window reopened when the held state went out: a change now is held again.
    w.clock.advance(windowMs / 4);
    await w.online("alice");
    await w.settle();
    expect(w.frames.get("bob")!.map((f) => f.online)).toEqual([true, false]);
    w.clock.advance(windowMs);
    await w.settle();
    expect(w.frames.get("bob")).toEqual([
      { userId: "alice", online: true, lastSeenAt: 0 },
      { userId: "alice", online: false, lastSeenAt: firstLeft },
      { userId: "alice", online: true, lastSeenAt: 0 },
    ]);
  });
});

describe("PresenceTracker last seen", () => {
  it("survives a restart: a new tracker on the same last-seen file answers with it", async () => {
    const path = join(dir, "restart.db");
    const relations = new FakeRelations(everyone).befriend("alice", "bob");
    const clock = new ManualClock();
    const before = await world(relations, { lastSeenPath: path, clock });
    await before.online("alice");
    clock.advance(60_000);
    await before.offline("alice");
    const leftAt = clock.now();
    await before.settle();
    for (const c of opened.splice(0).reverse()) await c.close();

    clock.advance(3_600_000);
    const after = await world(relations, { lastSeenPath: path, clock });
    expect(await after.tracker.presenceVisibleTo("bob", ["alice"])).toEqual([{ userId: "alice", online: false, lastSeenAt: leftAt }]);
    await after.online("alice");
    expect(await after.tracker.presenceVisibleTo("bob", ["alice"])).toEqual([{ userId: "alice", online: true, lastSeenAt: 0 }]);
  });
});

describe("PresenceTracker reads", () => {
  it("answers GetPresence of 500 offline users with at most 64 board and last-seen reads under way at once", async () => {
    const users = Array.from({ length: 500 }, (_, i) => `u${i}`);
    const clock = new ManualClock();
    // Each id read is one JetStream request on NATS: count those in flight, held until the
    // next turn of the event loop so that whatever is started together is seen together.
    let inFlight = 0;
    let most = 0;
    const request = async <T>(n: number, read: () => Promise<T>): Promise<T> => {
      inFlight += n;
      most = Math.max(most, inFlight);
      await new Promise((r) => setImmediate(r));
      inFlight -= n;
      return read();
    };
    const memoryBoard = createMemoryAnnounceBoard();
    const board: AnnounceBoard = { ...memoryBoard, get: (u) => request(1, () => memoryBoard.get(u)) };
    const sqlite = openSqliteLastSeenStore(join(dir, `last-seen-${++files}.db`));
    const lastSeen: LastSeenStore = { ...sqlite, get: (ids) => request(ids.length, () => sqlite.get(ids)), close: () => sqlite.close() };
    const registry = createMemorySessionRegistry(60_000);
    const bus = createMemoryBus();
    const tracker = new PresenceTracker({ registry, bus, relations: new FakeRelations(users), lastSeen, log, announceWindowMs: windowMs, board, clock });
    opened.push(bus, registry, sqlite, tracker);
    const longAgo = clock.now() - 86_400_000;
    for (const u of users.slice(100)) await sqlite.put(u, longAgo);
    // u0..u2 just left: their offline is held by the grace window.
    for (const u of users.slice(0, 3)) await tracker.register({ sessionId: `s-${u}`, userId: u, deviceId: "phone", gatewayId: "gw" });
    clock.advance(windowMs);
    for (const u of users.slice(0, 3)) await tracker.end(`s-${u}`);
    most = 0;

    const seen = await tracker.presenceOf(users);
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(64);
    expect(seen).toEqual(users.map((userId, i) => ({ userId, online: i < 3, lastSeenAt: i < 3 ? 0 : i < 100 ? 0 : longAgo })));
  });
});

describe("PresenceTracker visibility", () => {
  it("shows a viewer themselves and the users whose relation says presence_visible, leaving the rest out like unknown ids", async () => {
    const relations = new FakeRelations(everyone).befriend("bob", "alice").befriend("bob", "carol").befriend("bob", "eve").hide("carol").block("eve", "bob");
    const w = await world(relations);
    for (const u of everyone) await w.online(u);
    const seen = await w.tracker.presenceVisibleTo("bob", ["alice", "carol", "dave", "eve", "nobody", "bob", "alice"]);
    expect(seen).toEqual([
      { userId: "alice", online: true, lastSeenAt: 0 },
      { userId: "bob", online: true, lastSeenAt: 0 },
    ]);
  });
});
