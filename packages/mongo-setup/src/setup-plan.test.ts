import { BSON, type Document } from "mongodb";
import { describe, expect, it } from "vitest";
import type { MongoCollectionLayout } from "./collection-layout.js";
import { describeSetupAction, MongoLayoutConflictError, planMongoSetup, stateAfterSetup, type MongoSetupState } from "./setup-plan.js";

/*
 * The plan that mongo-init and every adapter's open carry out, checked without a server: the
 * plan from what a database holds, and what the same plan leaves behind. (Carrying it out on
 * a real server is in each service's mongo-*-repository.test.ts, when MONGODB_URI is set.)
 */

const layout: readonly MongoCollectionLayout[] = [
  {
    name: "things",
    shardKey: { ownerId: 1 },
    indexes: [
      { name: "owner", key: { ownerId: 1 } },
      { name: "owner_slot", key: { ownerId: 1, slot: 1 }, unique: true, partialFilterExpression: { type: "slot", live: true } },
      { name: "expiry", key: { expireAt: 1 }, expireAfterSeconds: 0 },
      { name: "tag", key: { ownerId: 1, tag: 1 }, sparse: true },
    ],
  },
  { name: "counters", shardKey: undefined, indexes: [] },
];

const empty = (mongos: boolean): MongoSetupState => ({ collections: new Set(), indexes: new Map(), shardKeys: mongos ? new Map() : undefined });
const full = (mongos: boolean): MongoSetupState => stateAfterSetup(empty(mongos), planMongoSetup(empty(mongos), layout));

/** `state` with the index `name` of `things` as the server reports it replaced by `spec`. */
function withIndex(state: MongoSetupState, name: string, spec: Document): MongoSetupState {
  const things = new Map(state.indexes.get("things"));
  things.set(name, { v: 2, name, ...spec });
  return { ...state, indexes: new Map([...state.indexes, ["things", things]]) };
}

/** The conflict's problem lines; fails the test when the plan does not throw one. */
function conflicts(state: MongoSetupState): readonly string[] {
  try {
    planMongoSetup(state, layout);
  } catch (err) {
    if (err instanceof MongoLayoutConflictError) return err.problems;
    throw err;
  }
  throw new Error("the plan accepted a conflicting database");
}

describe("mongo setup plan", () => {
  it("creates every collection and index on a replica set, and nothing the second time", () => {
    const first = planMongoSetup(empty(false), layout);
    expect(first.map((a) => describeSetupAction(a, "db"))).toEqual([
      "created collection db.things",
      "created indexes on db.things: owner, owner_slot, expiry, tag",
      "created collection db.counters",
    ]);
    expect(planMongoSetup(stateAfterSetup(empty(false), first), layout)).toEqual([]);
  });

  it("through a mongos also enables sharding and shards each collection that has a key, once", () => {
    const first = planMongoSetup(empty(true), layout);
    expect(first.slice(first.findIndex((a) => a.kind === "enableSharding")).map((a) => describeSetupAction(a, "db"))).toEqual([
      "enabled sharding on database db",
      'sharded db.things on {"ownerId":1} (ranged)',
    ]);
    expect(planMongoSetup(stateAfterSetup(empty(true), first), layout)).toEqual([]);
  });

  it("adds only what is missing to a database that has part of the layout", () => {
    const things = new Map(full(false).indexes.get("things"));
    things.delete("expiry");
    const partial: MongoSetupState = { ...full(false), indexes: new Map([["things", things]]) };
    expect(planMongoSetup(partial, layout)).toEqual([{ kind: "createIndexes", collection: "things", indexes: [{ name: "expiry", key: { expireAt: 1 }, expireAfterSeconds: 0 }] }]);
  });

  it("leaves alone indexes it does not name", () => {
    expect(planMongoSetup(withIndex(full(true), "operators_own", { key: { slot: -1 } }), layout)).toEqual([]);
  });
});

describe("mongo setup plan over an index of its name that differs", () => {
  it("refuses a TTL index without its expiry (its documents would never expire), and says how to fix it", () => {
    expect(conflicts(withIndex(full(false), "expiry", { key: { expireAt: 1 } }))).toEqual([
      'index expiry of things exists with expireAfterSeconds none, not 0: MongoDB cannot change an index in place; drop index expiry (db.getCollection("things").dropIndex("expiry")) and run mongo-init again',
    ]);
    expect(conflicts(withIndex(full(false), "expiry", { key: { expireAt: 1 }, expireAfterSeconds: 3600 }))[0]).toMatch(/^index expiry of things exists with expireAfterSeconds 3600, not 0: /);
  });

  it("refuses an index that is not unique where the layout's is, or unique where it is not", () => {
    const partial = { type: "slot", live: true };
    expect(conflicts(withIndex(full(false), "owner_slot", { key: { ownerId: 1, slot: 1 }, partialFilterExpression: partial }))[0]).toMatch(/exists with unique false, not true: .*drop index owner_slot/);
    expect(conflicts(withIndex(full(false), "owner", { key: { ownerId: 1 }, unique: true }))[0]).toMatch(/index owner of things exists with unique true, not false/);
  });

  it("refuses an index with another partial filter, or none, or not sparse where the layout's is", () => {
    expect(conflicts(withIndex(full(false), "owner_slot", { key: { ownerId: 1, slot: 1 }, unique: true, partialFilterExpression: { type: "slot" } }))[0]).toMatch(
      /partialFilterExpression \{"type":"slot"\}, not \{"live":true,"type":"slot"\}/,
    );
    expect(conflicts(withIndex(full(false), "owner_slot", { key: { ownerId: 1, slot: 1 }, unique: true }))[0]).toMatch(/partialFilterExpression none, not/);
    expect(conflicts(withIndex(full(false), "tag", { key: { ownerId: 1, tag: 1 } }))[0]).toMatch(/index tag of things exists with sparse false, not true/);
  });

  it("refuses an index with another key, in another order too", () => {
    expect(conflicts(withIndex(full(false), "owner_slot", { key: { slot: 1, ownerId: 1 }, unique: true, partialFilterExpression: { type: "slot", live: true } }))).toEqual([
      expect.stringMatching(/^index owner_slot of things exists with key \{"slot":1,"ownerId":1\}, not \{"ownerId":1,"slot":1\}: .*and run mongo-init again$/),
    ]);
  });

  it("names every difference at once, and the whole error says nothing was changed", () => {
    const state = withIndex(withIndex(full(false), "expiry", { key: { expireAt: 1 }, sparse: true }), "owner_slot", { key: { ownerId: 1, slot: 1 } });
    expect(conflicts(state)).toEqual([
      expect.stringMatching(/^index owner_slot of things exists with unique false, not true and partialFilterExpression none, not/),
      expect.stringMatching(/^index expiry of things exists with sparse true, not false and expireAfterSeconds none, not 0/),
    ]);
    expect(() => planMongoSetup(state, layout)).toThrow(/^the database does not match the layout \(nothing was changed\):\n {2}- index owner_slot/);
  });

  it("accepts the same index in the forms a server reports it: other number types, unique false, filter fields reordered, extra fields", () => {
    const same = withIndex(
      withIndex(withIndex(full(false), "expiry", { key: { expireAt: new BSON.Int32(1) }, expireAfterSeconds: BSON.Long.fromNumber(0), background: true }), "owner", { key: { ownerId: new BSON.Double(1) }, unique: false }),
      "owner_slot",
      { key: { ownerId: 1, slot: 1 }, unique: true, partialFilterExpression: { live: true, type: "slot" }, ns: "db.things" },
    );
    expect(planMongoSetup(same, layout)).toEqual([]);
  });

  it("refuses a collection sharded on another key", () => {
    const hashed: MongoSetupState = { ...full(true), shardKeys: new Map([["things", { ownerId: "hashed" }]]) };
    expect(conflicts(hashed)).toEqual(['collection things is sharded on {"ownerId":"hashed"}, not {"ownerId":1}: reshard it by hand (reshardCollection)']);
  });
});
