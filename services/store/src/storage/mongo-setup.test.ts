import { describeSetupAction, planMongoSetup, stateAfterSetup, type MongoSetupState } from "@messenger/mongo-setup";
import { describe, expect, it } from "vitest";
import { collections, layout } from "./mongo-layout.js";

/*
 * What `npm run mongo-init` and the adapter's open plan for the history's layout, checked
 * without a server. (The planner itself is tested in packages/mongo-setup; carrying the plan
 * out on a real server is in mongo-history-repository.test.ts, when MONGODB_URI is set.)
 */

const empty = (mongos: boolean): MongoSetupState => ({ collections: new Set(), indexes: new Map(), shardKeys: mongos ? new Map() : undefined });

describe("mongo setup plan", () => {
  it("creates every collection and index on an empty replica set, and nothing the second time", () => {
    const first = planMongoSetup(empty(false), layout);
    expect(first.filter((a) => a.kind === "createCollection").map((a) => a.collection)).toEqual(Object.values(collections));
    const planned = first.flatMap((a) => (a.kind === "createIndexes" ? a.indexes.map((ix) => `${a.collection}.${ix.name}`) : []));
    expect(planned).toEqual(layout.flatMap((c) => c.indexes.map((ix) => `${c.name}.${ix.name}`)));
    expect(first.some((a) => a.kind === "enableSharding" || a.kind === "shardCollection")).toBe(false);
    expect(planMongoSetup(stateAfterSetup(empty(false), first), layout)).toEqual([]);
  });

  it("through a mongos also enables sharding and shards each collection on its ranged key, once", () => {
    const first = planMongoSetup(empty(true), layout);
    const sharding = first.slice(first.findIndex((a) => a.kind === "enableSharding"));
    expect(sharding.map((a) => describeSetupAction(a, "db"))).toEqual([
      "enabled sharding on database db",
      'sharded db.conversations on {"conversationId":1} (ranged)',
      'sharded db.user_conversations on {"userId":1} (ranged)',
      'sharded db.device_cursors on {"userId":1} (ranged)',
    ]);
    expect(planMongoSetup(stateAfterSetup(empty(true), first), layout)).toEqual([]);
  });

  it("refuses a database whose idempotency index is not unique: a resend could store a second message", () => {
    const full = stateAfterSetup(empty(false), planMongoSetup(empty(false), layout));
    const conversations = new Map(full.indexes.get(collections.conversations));
    const { unique: _, ...notUnique } = conversations.get("messages_idempotency")!;
    conversations.set("messages_idempotency", notUnique);
    const state: MongoSetupState = { ...full, indexes: new Map([...full.indexes, [collections.conversations, conversations]]) };
    expect(() => planMongoSetup(state, layout)).toThrow(/index messages_idempotency of conversations exists with unique false, not true: .*drop index messages_idempotency/);
  });
});

describe("mongo layout", () => {
  it("prefixes every unique index with its collection's shard key (MongoDB enforces no other on a sharded collection)", () => {
    for (const c of layout) {
      const shardFields = Object.keys(c.shardKey);
      for (const ix of c.indexes.filter((i) => i.unique)) expect(Object.keys(ix.key).slice(0, shardFields.length), `${c.name}.${ix.name}`).toEqual(shardFields);
    }
  });

  it("has a plain (not partial) index on each shard key, as sharding requires", () => {
    for (const c of layout) {
      expect(c.indexes.some((ix) => !ix.partialFilterExpression && Object.keys(ix.key)[0] === Object.keys(c.shardKey)[0]), c.name).toBe(true);
    }
  });
});
