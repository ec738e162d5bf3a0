import { ensureMongoSchema, initMongoLayout, type MongoInitReport, type MongoSetupAction } from "@messenger/mongo-setup";
import type { Db, MongoClient } from "mongodb";
import { layout } from "./mongo-layout.js";

export { databaseOf } from "@messenger/mongo-setup";

/** Accounts' part in messages about the server (the adapter and initMongoAccounts refuse a server without transactions or snapshot reads). */
export const accountsNeedTransactions = "the accounts service's MongoDB adapter";

/**
 * Brings the database to the accounts layout (collections and indexes; with `shard`, through
 * a mongos, sharding too) and returns what it did. Safe at every start and from several
 * replicas at once; refuses, changing nothing, an index or shard key of the layout's name
 * that differs.
 */
export function ensureAccountsSchema(client: MongoClient, db: Db, opts: { shard: boolean }): Promise<MongoSetupAction[]> {
  return ensureMongoSchema(client, db, layout, opts);
}

/** What initMongoAccounts did. */
export type AccountsMongoInitReport = MongoInitReport;

/**
 * Creates the accounts collections and indexes at `uri` and, through a mongos, enables
 * sharding on the database and shards each collection on its key. Idempotent: a second run
 * takes no step. Refuses first a server without transactions or snapshot reads (standalone,
 * or before 5.0). For scripts/mongo-init.ts.
 */
export function initMongoAccounts(uri: string, opts: { dbName?: string } = {}): Promise<AccountsMongoInitReport> {
  return initMongoLayout(uri, layout, { ...opts, transactionsFor: accountsNeedTransactions });
}
