import { describeSetupAction, planMongoSetup, stateAfterSetup, type MongoSetupState } from "@messenger/mongo-setup";
import { describe, expect, it } from "vitest";
import { collections, layout } from "./mongo-layout.js";

/*
 * What initMongoAccounts and the adapter's open plan for the accounts layout, checked without
 * a server. (The planner itself is tested in packages/mongo-setup; carrying the plan out on a
 * real server is in mongo-accounts-repositories.test.ts, when MONGODB_URI is set.)
 */

const empty = (mongos: boolean): MongoSetupState => ({ collections: new Set(), indexes: new Map(), shardKeys: mongos ? new Map() : undefined });

describe("accounts mongo setup plan", () => {
  it("creates every collection and index on an empty replica set, and nothing the second time", () => {
    const first = planMongoSetup(empty(false), layout);
    expect(first.filter((a) => a.kind === "createCollection").map((a) => a.collection)).toEqual(Object.values(collections));
    const planned = first.flatMap((a) => (a.kind === "createIndexes" ? a.indexes.map((ix) => `${a.collection}.${ix.name}`) : []));
    expect(planned).toEqual(layout.flatMap((c) => c.indexes.map((ix) => `${c.name}.${ix.name}`)));
    expect(first.some((a) => a.kind === "enableSharding" || a.kind === "shardCollection")).toBe(false);
    expect(planMongoSetup(stateAfterSetup(empty(false), first), layout)).toEqual([]);
  });

  it("through a mongos also shards every collection but the counter on its ranged key, once", () => {
    const first = planMongoSetup(empty(true), layout);
    const sharding = first.slice(first.findIndex((a) => a.kind === "enableSharding"));
    expect(sharding.map((a) => describeSetupAction(a, "db"))).toEqual([
      "enabled sharding on database db",
      'sharded db.accounts.users on {"_id":1} (ranged)',
      'sharded db.accounts.usernames on {"_id":1} (ranged)',
      'sharded db.accounts.refresh_tokens on {"_id":1} (ranged)',
      'sharded db.accounts.devices on {"userId":1} (ranged)',
      'sharded db.accounts.push_addresses on {"_id":1} (ranged)',
      'sharded db.accounts.contacts on {"userId":1} (ranged)',
      'sharded db.accounts.contact_requests on {"userId":1} (ranged)',
      'sharded db.accounts.blocks on {"userId":1} (ranged)',
      'sharded db.accounts.muted_conversations on {"userId":1} (ranged)',
      'sharded db.accounts.direct_relation_outbox on {"userId":1} (ranged)',
      'sharded db.accounts.user_settings on {"_id":1} (ranged)',
      'sharded db.accounts.user_guards on {"_id":1} (ranged)',
    ]);
    expect(planMongoSetup(stateAfterSetup(empty(true), first), layout)).toEqual([]);
  });

  it("refuses a refresh token expiry index without its TTL (used tokens would never be deleted), naming the fix", () => {
    const full = stateAfterSetup(empty(false), planMongoSetup(empty(false), layout));
    const tokens = new Map(full.indexes.get(collections.refreshTokens));
    tokens.set("expiry", { v: 2, key: { expireAt: 1 }, name: "expiry" });
    const state: MongoSetupState = { ...full, indexes: new Map([...full.indexes, [collections.refreshTokens, tokens]]) };
    expect(() => planMongoSetup(state, layout)).toThrow(
      'index expiry of accounts.refresh_tokens exists with expireAfterSeconds none, not 0: MongoDB cannot change an index in place; drop index expiry (db.getCollection("accounts.refresh_tokens").dropIndex("expiry")) and run mongo-init again',
    );
  });
});

describe("accounts mongo layout", () => {
  it("prefixes every unique index with its collection's shard key (MongoDB enforces no other on a sharded collection)", () => {
    for (const c of layout) {
      if (!c.shardKey) continue;
      const shardFields = Object.keys(c.shardKey);
      for (const ix of c.indexes.filter((i) => i.unique)) expect(Object.keys(ix.key).slice(0, shardFields.length), `${c.name}.${ix.name}`).toEqual(shardFields);
    }
  });

  it("has a plain (not partial) index on each shard key, as sharding requires (_id has its own)", () => {
    for (const c of layout) {
      const field = c.shardKey && Object.keys(c.shardKey)[0];
      if (!field || field === "_id") continue;
      expect(c.indexes.some((ix) => !ix.partialFilterExpression && Object.keys(ix.key)[0] === field), c.name).toBe(true);
    }
  });

  it("names every collection under accounts., apart from the store's and media's", () => {
    expect(layout.map((c) => c.name).every((n) => n.startsWith("accounts."))).toBe(true);
  });
});
