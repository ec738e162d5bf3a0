import type { Document } from "mongodb";
import { describe, expect, it } from "vitest";
import { collections, layout } from "./mongo-layout.js";
import { databaseOf, describeAccountsSetupAction, planAccountsSetup, type AccountsSetupAction, type AccountsSetupState } from "./mongo-setup.js";

/*
 * What initMongoAccounts and the adapter's open plan, checked without a server: the plan from
 * what a database holds, and what the same plan leaves behind. (Carrying it out on a real
 * server is in mongo-accounts-repositories.test.ts, when MONGODB_URI is set.)
 */

const empty = (mongos: boolean): AccountsSetupState => ({ collections: new Set(), indexes: new Map(), shardKeys: mongos ? new Map() : undefined });

/** The state a server is in after the steps, as the plan's reader would find it. */
function applied(state: AccountsSetupState, actions: readonly AccountsSetupAction[]): AccountsSetupState {
  const names = new Set(state.collections);
  const indexes = new Map([...state.indexes].map(([c, m]) => [c, new Map(m)]));
  const shardKeys = state.shardKeys ? new Map(state.shardKeys) : undefined;
  for (const a of actions) {
    if (a.kind === "createCollection") names.add(a.collection);
    if (a.kind === "createIndexes") {
      const m = indexes.get(a.collection) ?? new Map<string, Document>([["_id_", { _id: 1 }]]);
      for (const ix of a.indexes) m.set(ix.name!, ix.key as Document);
      indexes.set(a.collection, m);
    }
    if (a.kind === "shardCollection") shardKeys!.set(a.collection, a.key);
  }
  return { collections: names, indexes, shardKeys };
}

describe("accounts mongo setup plan", () => {
  it("creates every collection and index on an empty replica set, and nothing the second time", () => {
    const first = planAccountsSetup(empty(false));
    expect(first.filter((a) => a.kind === "createCollection").map((a) => a.collection)).toEqual(Object.values(collections));
    const planned = first.flatMap((a) => (a.kind === "createIndexes" ? a.indexes.map((ix) => `${a.collection}.${ix.name}`) : []));
    expect(planned).toEqual(layout.flatMap((c) => c.indexes.map((ix) => `${c.name}.${ix.name}`)));
    expect(first.some((a) => a.kind === "enableSharding" || a.kind === "shardCollection")).toBe(false);
    expect(planAccountsSetup(applied(empty(false), first))).toEqual([]);
  });

  it("through a mongos also shards every collection but the counter on its ranged key, once", () => {
    const first = planAccountsSetup(empty(true));
    const sharding = first.slice(first.findIndex((a) => a.kind === "enableSharding"));
    expect(sharding.map((a) => describeAccountsSetupAction(a, "db"))).toEqual([
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
    expect(planAccountsSetup(applied(empty(true), first))).toEqual([]);
  });

  it("adds only what is missing to a database that has part of the layout", () => {
    const full = applied(empty(false), planAccountsSetup(empty(false)));
    const partial: AccountsSetupState = {
      ...full,
      indexes: new Map([...full.indexes].map(([c, m]) => [c, new Map([...m].filter(([name]) => !(c === collections.devices && name === "user_device")))])),
    };
    expect(planAccountsSetup(partial)).toEqual([{ kind: "createIndexes", collection: collections.devices, indexes: [expect.objectContaining({ name: "user_device", unique: true })] }]);
  });

  it("refuses to go on over an index or a shard key of its own name that has another key", () => {
    const full = applied(empty(true), planAccountsSetup(empty(true)));
    const otherIndex: AccountsSetupState = { ...full, indexes: new Map([...full.indexes, [collections.mutedConversations, new Map([["user_conversation", { userId: 1 }]])]]) };
    expect(() => planAccountsSetup(otherIndex)).toThrow(/user_conversation exists with key/);
    const hashed: AccountsSetupState = { ...full, shardKeys: new Map([...full.shardKeys!, [collections.contacts, { userId: "hashed" }]]) };
    expect(() => planAccountsSetup(hashed)).toThrow(/accounts.contacts is sharded on/);
  });
});

describe("accounts mongo layout", () => {
  it("prefixes every unique index with its collection's shard key (MongoDB enforces no other on a sharded collection)", () => {
    for (const c of layout) {
      if (!c.shardKey) continue;
      const shardFields = Object.keys(c.shardKey);
      for (const ix of c.indexes.filter((i) => i.unique)) expect(Object.keys(ix.key as Document).slice(0, shardFields.length), `${c.name}.${ix.name}`).toEqual(shardFields);
    }
  });

  it("has a plain (not partial) index on each shard key, as sharding requires (_id has its own)", () => {
    for (const c of layout) {
      const field = c.shardKey && Object.keys(c.shardKey)[0];
      if (!field || field === "_id") continue;
      expect(c.indexes.some((ix) => !ix.partialFilterExpression && Object.keys(ix.key as Document)[0] === field), c.name).toBe(true);
    }
  });

  it("names every collection under accounts., apart from the store's and media's", () => {
    expect(layout.map((c) => c.name).every((n) => n.startsWith("accounts."))).toBe(true);
  });

  it("reads the database from the connection string's path, else messenger", () => {
    expect(databaseOf("mongodb://a:27017,b:27017/chat?replicaSet=rs0")).toBe("chat");
    expect(databaseOf("mongodb+srv://user:p%2Fw@cluster.example/")).toBe("messenger");
    expect(databaseOf("mongodb://localhost:27017")).toBe("messenger");
  });
});
