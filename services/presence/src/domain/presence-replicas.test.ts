import { timestampMs } from "@bufbuild/protobuf/wkt";
import { createMemoryBus, createMemorySessionRegistry, deliveryCodec, subjects, type Bus, type SessionRegistry } from "@messenger/bus";
import { createLogger } from "@messenger/logging";
import { afterEach, describe, expect, it } from "vitest";
import { createMemoryAnnounceBoard, type AnnounceBoard } from "../storage/announce-board.js";
import type { LastSeenStore } from "../storage/last-seen-store.js";
import { FakeRelations } from "./fake-relations.js";
import { ManualClock } from "./manual-clock.js";
import type { PresenceState } from "./presence-state.js";
import { PresenceTracker, type RelationsClient } from "./presence-tracker.js";

// Two trackers over one registry, one board and one bus: two presence replicas, with the
// interleavings a network would allow forced by hand. (tests/cluster/presence-replicas.test.ts
// runs the same over NATS.)

const log = createLogger("presence-replicas-test", "silent");
const windowMs = 1_000;

function memoryLastSeen(): LastSeenStore {
  const times = new Map<string, number>();
  return {
    async get(ids) {
      return new Map(ids.filter((id) => times.has(id)).map((id) => [id, times.get(id)!]));
    },
    async put(id, at) {
      times.set(id, Math.max(at, times.get(id) ?? 0));
    },
    async close() {},
  };
}

const opened: PresenceTracker[] = [];
afterEach(async () => {
  for (const t of opened.splice(0)) await t.close();
});

interface Shared {
  bus: Bus;
  registry: SessionRegistry;
  board: AnnounceBoard;
  lastSeen: LastSeenStore;
  relations: FakeRelations;
  /** What bob's gateway was asked to deliver to him. */
  bobSaw: PresenceState[];
}

function shared(): Shared {
  const bus = createMemoryBus();
  const bobSaw: PresenceState[] = [];
  bus.subscribe(subjects.gatewayDeliveries("gw-bob"), (bytes) => {
    const p = deliveryCodec.decode(bytes).frame?.frame;
    if (p?.case === "presence" && p.value.presence) {
      const v = p.value.presence;
      bobSaw.push({ userId: v.userId, online: v.online, lastSeenAt: v.lastSeenAt ? timestampMs(v.lastSeenAt) : 0 });
    }
  });
  return {
    bus,
    registry: createMemorySessionRegistry(60_000),
    board: createMemoryAnnounceBoard(),
    lastSeen: memoryLastSeen(),
    relations: new FakeRelations(["alice", "bob"]).befriend("alice", "bob"),
    bobSaw,
  };
}

function replica(s: Shared, opts: { clock: ManualClock; window?: number; registry?: SessionRegistry; relations?: RelationsClient }): PresenceTracker {
  const t = new PresenceTracker({
    registry: opts.registry ?? s.registry,
    bus: s.bus,
    relations: opts.relations ?? s.relations,
    lastSeen: s.lastSeen,
    log,
    announceWindowMs: opts.window ?? windowMs,
    board: s.board,
    clock: opts.clock,
  });
  opened.push(t);
  return t;
}

/**
 * Accounts as one replica reaches it, with a slow ListPresenceAudience on demand: the call
 * after holdNext() waits until released by hand.
 */
class SlowAudience implements RelationsClient {
  private next: { started: () => void; gate: Promise<void> } | undefined;

  constructor(private readonly inner: FakeRelations) {}

  /** Holds the next audience lookup; `started` resolves once it is waiting. */
  holdNext(): { started: Promise<void>; release: () => void } {
    let started = (): void => {};
    let release = (): void => {};
    const startedP = new Promise<void>((r) => (started = r));
    this.next = { started, gate: new Promise<void>((r) => (release = r)) };
    return { started: startedP, release };
  }

  getRelations: RelationsClient["getRelations"] = (req) => this.inner.getRelations(req);

  listPresenceAudience: RelationsClient["listPresenceAudience"] = async (req) => {
    const held = this.next;
    this.next = undefined;
    if (held) {
      held.started();
      await held.gate;
    }
    return this.inner.listPresenceAudience(req);
  };
}

const session = (id: string, userId: string, gatewayId = `gw-${userId}`) => ({ sessionId: id, userId, deviceId: id, gatewayId });
const settle = async (...trackers: PresenceTracker[]): Promise<void> => {
  await Promise.all(trackers.map((t) => t.idle()));
  await new Promise((r) => setImmediate(r));
};

describe("presence replicas over one registry and board", () => {
  it("announce a user's online once when both register one of the user's devices at the same moment", async () => {
    const s = shared();
    const clock = new ManualClock();
    const [a, b] = [replica(s, { clock }), replica(s, { clock })];
    await a.register(session("s-bob", "bob"));
    await Promise.all([a.register(session("phone", "alice")), b.register(session("laptop", "alice"))]);
    await settle(a, b);
    expect(s.bobSaw).toEqual([{ userId: "alice", online: true, lastSeenAt: 0 }]);
  });

  it("announce the last session's end once when each replica ends one of the user's two sessions at the same moment", async () => {
    const s = shared();
    const clock = new ManualClock();
    const [a, b] = [replica(s, { clock, window: 0 }), replica(s, { clock, window: 0 })];
    await a.register(session("s-bob", "bob"));
    await a.register(session("phone", "alice"));
    await b.register(session("laptop", "alice"));
    await Promise.all([a.end("phone"), b.end("laptop")]);
    await settle(a, b);
    expect(s.bobSaw).toEqual([
      { userId: "alice", online: true, lastSeenAt: 0 },
      { userId: "alice", online: false, lastSeenAt: clock.now() },
    ]);
  });

  it("end with watchers told the truth when a registration through one replica lands between the other's check of the sessions and its decision", async () => {
    const s = shared();
    const clock = new ManualClock();
    // Replica a reads alice's sessions (none left) and is then held back until b has
    // registered her new session and found her online in the record already.
    let hold: Promise<void> | undefined;
    let release = (): void => {};
    const slowRegistry: SessionRegistry = {
      ...s.registry,
      sessionsOf: async (ids) => {
        const found = await s.registry.sessionsOf(ids);
        const wait = hold;
        hold = undefined;
        if (wait) await wait;
        return found;
      },
    };
    const a = replica(s, { clock, window: 0, registry: slowRegistry });
    const b = replica(s, { clock, window: 0 });
    await b.register(session("s-bob", "bob"));
    await b.register(session("phone", "alice"));
    hold = new Promise((r) => (release = r));
    const ending = a.end("phone");
    await new Promise((r) => setImmediate(r));
    await b.register(session("tablet", "alice"));
    release();
    await ending;
    await settle(a, b);
    // Told offline by a, which then saw the new session and told online: the last word is true.
    expect(s.bobSaw.map((p) => p.online)).toEqual([true, false, true]);
    expect((await b.presenceOf(["alice"]))[0]?.online).toBe(true);
  });

  it("send an offline whose replica died inside the window once another replica reads the user's presence", async () => {
    const s = shared();
    const clock = new ManualClock();
    // a dies after holding alice's offline: its clock never moves again, so its timer never fires.
    const deadClock = new ManualClock(clock.now());
    const a = replica(s, { clock: deadClock });
    const b = replica(s, { clock });
    await b.register(session("s-bob", "bob"));
    await a.register(session("phone", "alice"));
    deadClock.advance(windowMs);
    clock.advance(windowMs);
    await a.end("phone");
    const leftAt = deadClock.now();
    await settle(a, b);
    expect(s.bobSaw).toEqual([{ userId: "alice", online: true, lastSeenAt: 0 }]);
    // Inside the window bob's client is shown alice online, as he was told; well past it, offline.
    expect(await b.presenceVisibleTo("bob", ["alice"])).toEqual([{ userId: "alice", online: true, lastSeenAt: 0 }]);
    clock.advance(windowMs * 2);
    expect(await b.presenceVisibleTo("bob", ["alice"])).toEqual([{ userId: "alice", online: false, lastSeenAt: leftAt }]);
    await settle(b);
    expect(s.bobSaw).toEqual([
      { userId: "alice", online: true, lastSeenAt: 0 },
      { userId: "alice", online: false, lastSeenAt: leftAt },
    ]);
  });

  it.each([
    ["after the window has ended", windowMs * 3],
    ["before the window ends", windowMs / 2],
  ])("send an online held by a replica that died once the user's next registration reaches another replica %s", async (_when, later) => {
    const s = shared();
    const clock = new ManualClock();
    const b = replica(s, { clock });
    await b.register(session("s-bob", "bob"));
    await b.register(session("phone", "alice"));
    clock.advance(windowMs);
    await b.end("phone");
    const leftAt = clock.now();
    clock.advance(windowMs);
    await settle(b);
    // Her offline went out and opened a window; she is back within it, through replica a,
    // which holds the online for the window's end and dies: its clock never moves again.
    expect(s.bobSaw).toEqual([
      { userId: "alice", online: true, lastSeenAt: 0 },
      { userId: "alice", online: false, lastSeenAt: leftAt },
    ]);
    const a = replica(s, { clock: new ManualClock(clock.now()) });
    await a.register(session("laptop", "alice"));
    clock.advance(later);
    await settle(a, b);
    expect(s.bobSaw).toHaveLength(2);
    expect(await b.presenceVisibleTo("bob", ["alice"])).toEqual([{ userId: "alice", online: true, lastSeenAt: 0 }]);
    // Her next device registers through b: the window a left behind is ended there.
    await b.register(session("tablet", "alice"));
    clock.advance(windowMs);
    await settle(b);
    expect(s.bobSaw).toEqual([
      { userId: "alice", online: true, lastSeenAt: 0 },
      { userId: "alice", online: false, lastSeenAt: leftAt },
      { userId: "alice", online: true, lastSeenAt: 0 },
    ]);
  });

  it("drop a send overtaken by a later decision of another replica, so watchers end with the true state", async () => {
    const s = shared();
    const clock = new ManualClock();
    const slow = new SlowAudience(s.relations);
    const a = replica(s, { clock, window: 0, relations: slow });
    const b = replica(s, { clock, window: 0 });
    await b.register(session("s-bob", "bob"));
    // a decides alice's online, then waits on accounts for her audience...
    const held = slow.holdNext();
    await a.register(session("phone", "alice"));
    await held.started;
    // ...while b decides and sends her offline.
    clock.advance(10);
    await b.end("phone");
    const leftAt = clock.now();
    await settle(b);
    expect(s.bobSaw).toEqual([{ userId: "alice", online: false, lastSeenAt: leftAt }]);
    held.release();
    await settle(a, b);
    expect(s.bobSaw).toEqual([{ userId: "alice", online: false, lastSeenAt: leftAt }]);
    expect(await a.presenceVisibleTo("bob", ["alice"])).toEqual([{ userId: "alice", online: false, lastSeenAt: leftAt }]);
    expect(a.counters.announcements).toBe(0);
  });
});
