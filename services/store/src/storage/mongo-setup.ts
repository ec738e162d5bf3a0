import { ensureMongoSchema as ensureLayout, initMongoLayout, type MongoInitReport, type MongoSetupAction } from "@messenger/mongo-setup";
import type { Db, MongoClient } from "mongodb";
import { layout } from "./mongo-layout.js";

export { databaseOf, isMongos, type MongoInitReport } from "@messenger/mongo-setup";

/** The history's part in messages about the server (the adapter and mongo-init refuse a server without transactions). */
export const historyNeedsTransactions = "the store's MongoDB history";

/**
 * Brings the database to the history's layout (collections and indexes; with `shard`, through
 * a mongos, sharding too) and returns what it did. Safe at every start and concurrently;
 * refuses, changing nothing, an index or shard key of the layout's name that differs.
 */
export function ensureMongoSchema(client: MongoClient, db: Db, opts: { shard: boolean }): Promise<MongoSetupAction[]> {
  return ensureLayout(client, db, layout, opts);
}

/**
 * Creates the history's collections and indexes at `uri` and, through a mongos, enables
 * sharding on the database and shards each collection with its key. Idempotent: a second
 * run takes no step. Refuses first a server without transactions (standalone, or before 5.0).
 */
export function initMongoHistory(uri: string, opts: { dbName?: string } = {}): Promise<MongoInitReport> {
  return initMongoLayout(uri, layout, { ...opts, transactionsFor: historyNeedsTransactions });
}
