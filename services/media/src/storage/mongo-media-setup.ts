import { databaseOf, ensureMongoSchema, initMongoLayout, type MongoInitReport, type MongoSetupAction } from "@messenger/mongo-setup";
import type { Db, MongoClient } from "mongodb";
import { mediaLayout } from "./mongo-media-layout.js";

/**
 * Brings the database to the media layout (collection and indexes; with `shard`, through a
 * mongos, sharding too) and returns what it did. Safe at every start and from several
 * replicas at once; refuses, changing nothing, an index or shard key of the layout's name
 * that differs.
 */
export function ensureMediaSchema(client: MongoClient, db: Db, opts: { shard: boolean }): Promise<MongoSetupAction[]> {
  return ensureMongoSchema(client, db, mediaLayout, opts);
}

/** The database a connection string names (its path), else "messenger": the rule of every service. */
export const mediaDatabaseOf = databaseOf;

/** What `initMongoMedia` did (the same shape as the store's `initMongoHistory` report). */
export type MediaMongoInitReport = MongoInitReport;

/**
 * Creates the media records' collection and indexes at `uri` and, through a mongos, enables
 * sharding on the database and shards the collection on its key. Idempotent: a second run
 * takes no step. Any server will do (single-document writes only, no transactions). For
 * `npm run mongo-init`.
 */
export function initMongoMedia(uri: string, opts: { dbName?: string } = {}): Promise<MediaMongoInitReport> {
  return initMongoLayout(uri, mediaLayout, opts);
}
