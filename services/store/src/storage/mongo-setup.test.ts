import type { Document } from "mongodb";
import { describe, expect, it } from "vitest";
import { collections, layout } from "./mongo-layout.js";
import { databaseOf, describeSetupAction, planMongoSetup, type MongoSetupAction, type MongoSetupState } from "./mongo-setup.js";

/*
 * What `npm run mongo-init` and the adapter's open plan, checked without a server: the plan
 * from what a database holds, and what the same plan leaves behind. (Carrying it out on a
 * real server is in mongo-history-repository.test.ts, when MONGODB_URI is set.)
 */

const empty = (mongos: boolean): MongoSetupState => ({ collections: new Set(), indexes: new Map(), shardKeys: mongos ? new Map() : undefined });

/** The state a server is in after the steps, as the plan's reader would find it. */
function applied(state: MongoSetupState, actions: readonly MongoSetupAction[]): MongoSetupState {
  const names = new Set(state.collections);
  const indexes = new Map([...state.indexes].map(([c, m]) => [c, new Map(m)]));
  const shardKeys = state.shardKeys ? new Map(state.shardKeys) : undefined;
  for (const a of actions) {
    if (a.kind === "createCollection") names.add(a.collection);
    if (a.kind === "createIndexes") {
      names.add(a.collection);
      const m = indexes.get(a.collection) ?? new Map<string, Document>([["_id_", { _id: 1 }]]);
      for (const ix of a.indexes) m.set(ix.name!, ix.key as Document);
      indexes.set(a.collection, m);
    }
    if (a.kind === "shardCollection") shardKeys!.set(a.collection, a.key);
  }
  return { collections: names, indexes, shardKeys };
}

describe("mongo setup plan", () => {
  it("creates every collection and index on an empty replica set, and nothing the second time", () => {
    const first = planMongoSetup(empty(false));
    expect(first.filter((a) => a.kind === "createCollection").map((a) => a.collection)).toEqual(Object.values(collections));
    const planned = first.flatMap((a) => (a.kind === "createIndexes" ? a.indexes.map((ix) => `${a.collection}.${ix.name}`) : []));
    expect(planned).toEqual(layout.flatMap((c) => c.indexes.map((ix) => `${c.name}.${ix.name}`)));
    expect(first.some((a) => a.kind === "enableSharding" || a.kind === "shardCollection")).toBe(false);
    expect(planMongoSetup(applied(empty(false), first))).toEqual([]);
  });

  it("through a mongos also enables sharding and shards each collection on its ranged key, once", () => {
    const first = planMongoSetup(empty(true));
    const sharding = first.slice(first.findIndex((a) => a.kind === "enableSharding"));
    expect(sharding.map((a) => describeSetupAction(a, "db"))).toEqual([
      "enabled sharding on database db",
      'sharded db.conversations on {"conversationId":1} (ranged)',
      'sharded db.user_conversations on {"userId":1} (ranged)',
      'sharded db.device_cursors on {"userId":1} (ranged)',
    ]);
    expect(planMongoSetup(applied(empty(true), first))).toEqual([]);
  });

  it("adds only what is missing to a database that has part of the layout", () => {
    const full = applied(empty(false), planMongoSetup(empty(false)));
    const partial: MongoSetupState = { ...full, indexes: new Map([...full.indexes].map(([c, m]) => [c, new Map([...m].filter(([name]) => name !== "messages_idempotency"))])) };
    expect(planMongoSetup(partial)).toEqual([{ kind: "createIndexes", collection: collections.conversations, indexes: [expect.objectContaining({ name: "messages_idempotency", unique: true })] }]);
  });

  it("refuses to go on over an index or a shard key of its own name that has another key", () => {
    const full = applied(empty(true), planMongoSetup(empty(true)));
    const otherIndex: MongoSetupState = { ...full, indexes: new Map([...full.indexes, [collections.deviceCursors, new Map([["user_device_conversation", { userId: 1 }]])]]) };
    expect(() => planMongoSetup(otherIndex)).toThrow(/user_device_conversation exists with key/);
    const hashed: MongoSetupState = { ...full, shardKeys: new Map([...full.shardKeys!, [collections.conversations, { conversationId: "hashed" }]]) };
    expect(() => planMongoSetup(hashed)).toThrow(/conversations is sharded on/);
  });
});

describe("mongo layout", () => {
  it("prefixes every unique index with its collection's shard key (MongoDB enforces no other on a sharded collection)", () => {
    for (const c of layout) {
      const shardFields = Object.keys(c.shardKey);
      for (const ix of c.indexes.filter((i) => i.unique)) expect(Object.keys(ix.key as Document).slice(0, shardFields.length), `${c.name}.${ix.name}`).toEqual(shardFields);
    }
  });

  it("has a plain (not partial) index on each shard key, as sharding requires", () => {
    for (const c of layout) {
      expect(c.indexes.some((ix) => !ix.partialFilterExpression && Object.keys(ix.key as Document)[0] === Object.keys(c.shardKey)[0]), c.name).toBe(true);
    }
  });
});

describe("mongo database name", () => {
  it("is the connection string's path, else messenger", () => {
    expect(databaseOf("mongodb://a:1,b:2/history?replicaSet=rs0")).toBe("history");
    expect(databaseOf("mongodb+srv://user:p%2Fw@cluster.example/prod")).toBe("prod");
    expect(databaseOf("mongodb://localhost:27017")).toBe("messenger");
    expect(databaseOf("mongodb://localhost:27017/?directConnection=true")).toBe("messenger");
  });
});
