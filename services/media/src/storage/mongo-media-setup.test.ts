import type { Document } from "mongodb";
import { describe, expect, it } from "vitest";
import { mediaCollection, mediaLayout } from "./mongo-media-layout.js";
import { describeMediaSetupAction, mediaDatabaseOf, planMediaSetup, type MediaSetupAction, type MediaSetupState } from "./mongo-media-setup.js";

/*
 * What `initMongoMedia` and the adapter's open plan, checked without a server: the plan from
 * what a database holds, and what the same plan leaves behind. (Carrying it out on a real
 * server is in mongo-media-repository.test.ts, when MONGODB_URI is set.)
 */

const empty = (mongos: boolean): MediaSetupState => ({ collections: new Set(), indexes: new Map(), shardKeys: mongos ? new Map() : undefined });

/** The state a server is in after the steps, as the plan's reader would find it. */
function applied(state: MediaSetupState, actions: readonly MediaSetupAction[]): MediaSetupState {
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

describe("media mongo setup plan", () => {
  it("creates the collection and every index on an unsharded server, and nothing the second time", () => {
    const first = planMediaSetup(empty(false));
    expect(first.map((a) => describeMediaSetupAction(a, "db"))).toEqual([
      "created collection db.media",
      "created indexes on db.media: uploader_created, pending_expiry, state_id",
    ]);
    expect(planMediaSetup(applied(empty(false), first))).toEqual([]);
  });

  it("through a mongos also enables sharding and shards the collection on its ranged id, once", () => {
    const first = planMediaSetup(empty(true));
    expect(first.slice(2).map((a) => describeMediaSetupAction(a, "db"))).toEqual(["enabled sharding on database db", 'sharded db.media on {"_id":1} (ranged)']);
    expect(planMediaSetup(applied(empty(true), first))).toEqual([]);
  });

  it("adds only what is missing to a database that has part of the layout", () => {
    const full = applied(empty(false), planMediaSetup(empty(false)));
    const partial: MediaSetupState = { ...full, indexes: new Map([[mediaCollection, new Map([...full.indexes.get(mediaCollection)!].filter(([name]) => name !== "pending_expiry"))]]) };
    expect(planMediaSetup(partial)).toEqual([
      { kind: "createIndexes", collection: mediaCollection, indexes: [expect.objectContaining({ name: "pending_expiry", partialFilterExpression: { state: "pending" } })] },
    ]);
  });

  it("refuses to go on over an index or a shard key of its own name that has another key", () => {
    const full = applied(empty(true), planMediaSetup(empty(true)));
    const otherIndex: MediaSetupState = { ...full, indexes: new Map([[mediaCollection, new Map([...full.indexes.get(mediaCollection)!, ["state_id", { state: 1 }]])]]) };
    expect(() => planMediaSetup(otherIndex)).toThrow(/state_id exists with key/);
    const hashed: MediaSetupState = { ...full, shardKeys: new Map([[mediaCollection, { _id: "hashed" }]]) };
    expect(() => planMediaSetup(hashed)).toThrow(/media is sharded on/);
  });
});

describe("media mongo layout", () => {
  it("has no unique index but _id, which is the shard key (MongoDB enforces no other unique index on a sharded collection)", () => {
    for (const c of mediaLayout) {
      expect(c.shardKey).toEqual({ _id: 1 });
      expect(c.indexes.filter((ix) => ix.unique)).toEqual([]);
    }
  });
});

describe("media mongo database name", () => {
  it("is the connection string's path, else messenger, as for the store", () => {
    expect(mediaDatabaseOf("mongodb://a:1,b:2/history?replicaSet=rs0")).toBe("history");
    expect(mediaDatabaseOf("mongodb+srv://user:p%2Fw@cluster.example/prod")).toBe("prod");
    expect(mediaDatabaseOf("mongodb://localhost:27017")).toBe("messenger");
    expect(mediaDatabaseOf("mongodb://localhost:27017/?directConnection=true")).toBe("messenger");
  });
});
