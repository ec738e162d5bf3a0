import { BSON, MongoClient, type Document } from "mongodb";
import { afterEach, describe, expect, it } from "vitest";
import { initMongoLayout, MongoLayoutConflictError, requireTransactionalServer, UnsuitableMongoServerError, type MongoCollectionLayout } from "../src/index.js";
import { startWireStandIn, type CommandAnswers, type WireStandIn } from "./wire-stand-in.js";

/*
 * What mongo-init and an adapter's open do with the server they reach, through the real
 * driver over a socket: which servers they refuse, with what message, and that a refusal
 * comes before anything is written. The server is a wire-protocol stand-in (no MongoDB
 * server can run here) that answers the handful of commands setup sends.
 */

const layout: readonly MongoCollectionLayout[] = [
  {
    name: "tokens",
    shardKey: { _id: 1 },
    indexes: [
      { name: "user", key: { userId: 1 }, unique: true, partialFilterExpression: { live: true } },
      { name: "expiry", key: { expireAt: 1 }, expireAfterSeconds: 0 },
    ],
  },
];

const server = { isWritablePrimary: true, maxBsonObjectSize: 16_777_216, maxMessageSizeBytes: 48_000_000, maxWriteBatchSize: 100_000, minWireVersion: 0, logicalSessionTimeoutMinutes: 30, readOnly: false };
const standalone = { ...server, maxWireVersion: 21 };
const replicaSet = (maxWireVersion: number): Document => ({ ...server, setName: "rs0", hosts: ["db-0:27017"], me: "db-0:27017", primary: "db-0:27017", maxWireVersion });

const cursor = (ns: string, firstBatch: Document[]): Document => ({ cursor: { id: BSON.Long.ZERO, ns, firstBatch } });
/** A database that holds `indexes` on an existing `tokens` (or nothing at all), and accepts every write. */
const database = (indexes?: Document[]): CommandAnswers => ({
  listCollections: () => cursor("setup.$cmd.listCollections", indexes ? [{ name: "tokens", type: "collection" }] : []),
  listIndexes: () => cursor("setup.tokens", indexes ?? []),
  create: () => ({}),
  createIndexes: () => ({ numIndexesBefore: 1, numIndexesAfter: 3 }),
});
const writes = (s: WireStandIn): string[] => s.commands.map((c) => Object.keys(c)[0]!).filter((name) => ["create", "createIndexes", "enableSharding", "shardCollection"].includes(name));

let standIn: WireStandIn | undefined;
afterEach(async () => {
  await standIn?.close();
  standIn = undefined;
});

describe("mongo-init and adapter open against the server they reach", () => {
  it("refuses a standalone server for a service that needs transactions, before reading or writing anything", async () => {
    standIn = await startWireStandIn(standalone, database());
    const init = initMongoLayout(standIn.uri, layout, { transactionsFor: "the accounts service" });
    await expect(init).rejects.toThrow(UnsuitableMongoServerError);
    await expect(init).rejects.toThrow(/^the accounts service needs a MongoDB replica set or sharded cluster, version 5\.0 or later .*: it is a standalone server/);
    expect(standIn.commands).toEqual([]);
  });

  it("refuses a replica set older than MongoDB 5.0, naming its wire version", async () => {
    standIn = await startWireStandIn(replicaSet(9), database());
    await expect(initMongoLayout(standIn.uri, layout, { transactionsFor: "the store" })).rejects.toThrow(/the store needs .*: it speaks wire version 9, older than MongoDB 5\.0/);
    expect(writes(standIn)).toEqual([]);
  });

  it("checks the server an open client is connected to (what the adapters call at open)", async () => {
    standIn = await startWireStandIn(standalone);
    const client = new MongoClient(standIn.uri);
    try {
      await client.connect();
      await expect(requireTransactionalServer(client, "the store")).rejects.toThrow(UnsuitableMongoServerError);
    } finally {
      await client.close();
    }
  });

  it("sets up an empty database on a replica set of 5.0 or later, passing every index option to the server", async () => {
    standIn = await startWireStandIn(replicaSet(13), database());
    const report = await initMongoLayout(standIn.uri, layout, { transactionsFor: "the store" });
    expect(report).toEqual({ database: "setup", sharded: false, steps: ["created collection setup.tokens", "created indexes on setup.tokens: user, expiry"] });
    const created = standIn.commands.find((c) => "createIndexes" in c);
    expect(created?.indexes).toEqual([
      { name: "user", key: { userId: 1 }, unique: true, partialFilterExpression: { live: true } },
      { name: "expiry", key: { expireAt: 1 }, expireAfterSeconds: 0 },
    ]);
  });

  it("sets up a standalone server for a service that needs no transactions (media)", async () => {
    standIn = await startWireStandIn(standalone, database());
    expect((await initMongoLayout(standIn.uri, layout)).steps).toHaveLength(2);
  });

  it("refuses, writing nothing, a database whose expiry index has no TTL, and says how to fix it", async () => {
    const noTtl = [
      { v: 2, key: { _id: 1 }, name: "_id_" },
      { v: 2, key: { userId: 1 }, name: "user", unique: true, partialFilterExpression: { live: true } },
      { v: 2, key: { expireAt: 1 }, name: "expiry" },
    ];
    standIn = await startWireStandIn(replicaSet(21), database(noTtl));
    const init = initMongoLayout(standIn.uri, layout, { transactionsFor: "the store" });
    await expect(init).rejects.toThrow(MongoLayoutConflictError);
    await expect(init).rejects.toThrow(/index expiry of tokens exists with expireAfterSeconds none, not 0: .*drop index expiry .* and run mongo-init again/);
    expect(writes(standIn)).toEqual([]);
  });
});
