import { MongoClient, type Db, type Document } from "mongodb";
import type { MongoCollectionLayout } from "./collection-layout.js";
import { databaseOf } from "./database-name.js";
import { helloIsMongos, helloOf, isMongos, requireTransactions } from "./server-check.js";
import { describeSetupAction, planMongoSetup, type MongoSetupAction, type MongoSetupState } from "./setup-plan.js";

/** Reads what the plan needs: the collections, their indexes (keys and options) and, through a mongos, shard keys. */
export async function readMongoSetupState(client: MongoClient, db: Db, layout: readonly MongoCollectionLayout[], opts: { sharded: boolean }): Promise<MongoSetupState> {
  const names = new Set((await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name));
  const indexes = new Map<string, Map<string, Document>>();
  for (const c of layout) {
    if (!names.has(c.name)) continue;
    const list = await db.collection(c.name).listIndexes().toArray();
    indexes.set(c.name, new Map(list.map((ix) => [String(ix.name), ix])));
  }
  if (!opts.sharded) return { collections: names, indexes, shardKeys: undefined };
  const shardKeys = new Map<string, Document>();
  // config.collections lists every sharded collection of the cluster with its key.
  const sharded = await client
    .db("config")
    .collection("collections")
    .find({ _id: { $in: layout.map((c) => `${db.databaseName}.${c.name}`) } as Document })
    .toArray();
  for (const doc of sharded) {
    if (doc.dropped === true) continue;
    shardKeys.set(String(doc._id).slice(db.databaseName.length + 1), doc.key as Document);
  }
  return { collections: names, indexes, shardKeys };
}

/** Carries out the steps in order. */
export async function applyMongoSetup(client: MongoClient, db: Db, actions: readonly MongoSetupAction[]): Promise<void> {
  const admin = client.db("admin");
  for (const a of actions) {
    switch (a.kind) {
      case "createCollection":
        await db.createCollection(a.collection);
        break;
      case "createIndexes":
        await db.collection(a.collection).createIndexes(a.indexes.map((ix) => ({ ...ix, key: { ...ix.key } })));
        break;
      case "enableSharding":
        await admin.command({ enableSharding: db.databaseName });
        break;
      case "shardCollection":
        await admin.command({ shardCollection: `${db.databaseName}.${a.collection}`, key: a.key });
        break;
    }
  }
}

async function setUp(client: MongoClient, db: Db, layout: readonly MongoCollectionLayout[], sharded: boolean): Promise<MongoSetupAction[]> {
  const actions = planMongoSetup(await readMongoSetupState(client, db, layout, { sharded }), layout);
  try {
    await applyMongoSetup(client, db, actions);
  } catch (err) {
    // Another process may have created the same collection meanwhile: plan again and carry
    // out only what is still missing.
    if ((err as { codeName?: string }).codeName !== "NamespaceExists") throw err;
    const again = planMongoSetup(await readMongoSetupState(client, db, layout, { sharded }), layout);
    await applyMongoSetup(client, db, again);
    return again;
  }
  return actions;
}

/**
 * Brings the database to the layout (collections and indexes; with `shard`, through a mongos,
 * sharding too) and returns what it did. Safe at every start and from several processes at
 * once: each step is idempotent on the server, and a collection another process created
 * meanwhile only makes it plan again. Throws MongoLayoutConflictError, having changed
 * nothing, when an index or shard key of the layout's name differs.
 */
export async function ensureMongoSchema(client: MongoClient, db: Db, layout: readonly MongoCollectionLayout[], opts: { shard: boolean }): Promise<MongoSetupAction[]> {
  return setUp(client, db, layout, opts.shard && (await isMongos(client)));
}

/** What an init (`npm run mongo-init`) did for one service's layout. */
export interface MongoInitReport {
  readonly database: string;
  /** True when the server is a mongos: the collections were sharded (or already were). */
  readonly sharded: boolean;
  /** One line per step taken; empty when everything was in place. */
  readonly steps: readonly string[];
}

export interface MongoInitOptions {
  /** The database; default: the one the URI names, else "messenger". */
  readonly dbName?: string;
  /** Set for a service that needs transactions: names it when the server is refused (requireTransactions). */
  readonly transactionsFor?: string;
}

/**
 * Creates the layout's collections and indexes at `uri` and, through a mongos, enables
 * sharding on the database and shards each collection that has a key. Idempotent: a second
 * run takes no step. With `transactionsFor`, a server without transactions is refused first.
 */
export async function initMongoLayout(uri: string, layout: readonly MongoCollectionLayout[], opts: MongoInitOptions = {}): Promise<MongoInitReport> {
  const client = new MongoClient(uri);
  await client.connect();
  try {
    const db = client.db(opts.dbName ?? databaseOf(uri));
    const hello = await helloOf(client);
    if (opts.transactionsFor !== undefined) requireTransactions(hello, opts.transactionsFor);
    const sharded = helloIsMongos(hello);
    const actions = await setUp(client, db, layout, sharded);
    return { database: db.databaseName, sharded, steps: actions.map((a) => describeSetupAction(a, db.databaseName)) };
  } finally {
    await client.close();
  }
}
