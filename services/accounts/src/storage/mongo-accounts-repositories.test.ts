import { randomBytes } from "node:crypto";
import { MongoClient } from "mongodb";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { accountRepositoryContract } from "./account-repository.contract.js";
import type { AccountsRepositories } from "./accounts-repositories.js";
import { contactsRepositoryContract } from "./contacts-repository.contract.js";
import { openMongoAccountRepository } from "./mongo-account-repository.js";
import { collections } from "./mongo-layout.js";
import { initMongoAccounts } from "./mongo-setup.js";
import { notificationsRepositoryContract } from "./notifications-repository.contract.js";

/*
 * The MongoDB adapter against a real server: MONGODB_URI names a replica set or a mongos
 * (the adapter uses transactions and snapshot reads; a standalone mongod has neither), 5.0
 * or later. Every test gets its own database, dropped after it. Two repositories opened on
 * one database are two accounts replicas. No MongoDB server can run on this machine, so
 * without MONGODB_URI the suite is skipped and says so.
 */
const uri = process.env.MONGODB_URI;
const noServer = "skipped: MONGODB_URI not set — no MongoDB server can run on this machine";
if (!uri) console.warn(`mongo-accounts-repositories.test.ts: ${noServer}`);

let n = 0;
const freshName = (): string => `messenger_accounts_test_${process.pid}_${Date.now().toString(36)}_${n++}`;

async function dropDatabase(dbName: string): Promise<void> {
  const client = new MongoClient(uri!);
  try {
    await client.db(dbName).dropDatabase();
  } finally {
    await client.close();
  }
}

/**
 * Prepares a fresh database as an operator does (mongo-init): through a mongos its
 * collections are sharded, so the suites run on the layout production runs, not on the
 * unsharded collections the adapter alone would create.
 */
async function prepareFresh(): Promise<string> {
  const dbName = freshName();
  await initMongoAccounts(uri!, { dbName });
  return dbName;
}

/** A repository on a fresh, prepared database that is dropped when the repository closes. */
async function openFresh(): Promise<AccountsRepositories> {
  const dbName = await prepareFresh();
  const repo = await openMongoAccountRepository(uri!, { dbName });
  return {
    ...repo,
    async close() {
      await repo.close();
      await dropDatabase(dbName);
    },
  };
}

describe.skipIf(!uri)(uri ? "MongoDB accounts adapter at MONGODB_URI" : `MongoDB accounts adapter (${noServer})`, () => {
  accountRepositoryContract("mongodb", openFresh);
  contactsRepositoryContract("mongodb", openFresh);
  notificationsRepositoryContract("mongodb", openFresh);

  describe("layout", () => {
    let client: MongoClient;
    const dbName = freshName();
    beforeAll(async () => {
      client = new MongoClient(uri!);
      await client.connect();
    });
    afterAll(async () => {
      await client.db(dbName).dropDatabase();
      await client.close();
    });

    it("creates its collections and indexes (and shards them through a mongos) once; a second run takes no step", async () => {
      const first = await initMongoAccounts(uri!, { dbName });
      expect(first.steps.filter((s) => s.startsWith("created collection"))).toHaveLength(Object.keys(collections).length);
      if (first.sharded) expect(first.steps.filter((s) => s.startsWith("sharded"))).toHaveLength(Object.keys(collections).length - 1);
      const names = (await client.db(dbName).listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).sort();
      expect(names).toEqual(Object.values(collections).sort());
      const tokenIndexes = await client.db(dbName).collection(collections.refreshTokens).listIndexes().toArray();
      expect(tokenIndexes.find((ix) => ix.name === "expiry")?.expireAfterSeconds).toBe(0);
      expect((await initMongoAccounts(uri!, { dbName })).steps).toEqual([]);
      // A replica opening the adapter on the prepared database takes no step either, and works.
      const repo = await openMongoAccountRepository(uri!, { dbName });
      expect(await repo.insertUser({ id: "u_1", username: "ann", displayName: "Ann", passwordHash: "x", createdAt: 0 })).toBe(true);
      await repo.close();
    });
  });

  describe("two replicas on one database", () => {
    let dbName: string;
    let a: AccountsRepositories;
    let b: AccountsRepositories;
    const open = async (): Promise<void> => {
      dbName = await prepareFresh();
      [a, b] = await Promise.all([openMongoAccountRepository(uri!, { dbName }), openMongoAccountRepository(uri!, { dbName })]);
      for (const username of ["ann", "bob"]) await a.insertUser({ id: `u_${username}`, username, displayName: username, passwordHash: "x", createdAt: 0 });
    };
    afterEach(async () => {
      await Promise.all([a.close(), b.close()]);
      await dropDatabase(dbName);
    });

    it("registers one of two accounts for one username, one per replica", async () => {
      await open();
      const results = await Promise.all([
        a.insertUser({ id: "u_1", username: "cat", displayName: "", passwordHash: "x", createdAt: 0 }),
        b.insertUser({ id: "u_2", username: "cat", displayName: "", passwordHash: "x", createdAt: 0 }),
      ]);
      expect(results.filter(Boolean)).toHaveLength(1);
      expect((await b.userByName("cat"))?.id).toBe((await a.userByName("cat"))?.id);
    });

    it("treats one refresh token taken on both replicas at once as a replay: one fresh, one reused", async () => {
      await open();
      const t = { tokenHash: randomBytes(16).toString("hex"), userId: "u_ann", deviceId: "phone", expiresAt: Date.now() + 60_000 };
      await a.putRefreshToken(t, { newFamily: true, now: 1 });
      const taken = await Promise.all([a.takeRefreshToken(t.tokenHash, 2), b.takeRefreshToken(t.tokenHash, 2)]);
      expect(taken.map((x) => x?.use).sort()).toEqual(["fresh", "reused"]);
    });

    it("queues the pair again when a replica acknowledges an older version after another pushed and cleared a newer one", async () => {
      await open();
      // Replica a blocks and starts pushing; meanwhile replica b unblocks, pushes and clears.
      await a.putBlock("u_ann", "u_bob", 1);
      const block = (await a.pendingDirectRelation("u_ann", "u_bob"))!;
      await b.deleteBlock("u_ann", "u_bob");
      const unblock = (await b.pendingDirectRelation("u_ann", "u_bob"))!;
      expect(await b.clearDirectRelation(unblock)).toBe(true);
      expect(await a.pendingDirectRelation("u_ann", "u_bob")).toBeUndefined();
      // a's push of the block may have reached the store after b's unblock: the current state must go again.
      expect(await a.clearDirectRelation(block)).toBe(false);
      const again = (await b.pendingDirectRelation("u_ann", "u_bob"))!;
      expect(again).toMatchObject({ blocking: false, contact: false });
      expect(again.version).toBeGreaterThan(unblock.version);
    });

    it("lets both replicas acknowledge one entry both pushed, leaving nothing pending", async () => {
      await open();
      await a.putBlock("u_ann", "u_bob", 1);
      const entry = (await a.pendingDirectRelation("u_ann", "u_bob"))!;
      expect(await Promise.all([a.clearDirectRelation(entry), b.clearDirectRelation(entry)])).toEqual([true, true]);
      expect(await a.pendingDirectRelations(0, 10)).toEqual([]);
    });
  });
});
