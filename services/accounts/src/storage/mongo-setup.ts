import { MongoClient, type Db, type Document, type IndexDescription } from "mongodb";
import { layout, type AccountsCollectionLayout } from "./mongo-layout.js";

/** What exists in the database now, as far as the layout cares. */
export interface AccountsSetupState {
  readonly collections: ReadonlySet<string>;
  /** Existing indexes by collection: name -> key. */
  readonly indexes: ReadonlyMap<string, ReadonlyMap<string, Document>>;
  /** Shard keys of sharded collections; undefined when the server is not a mongos. */
  readonly shardKeys: ReadonlyMap<string, Document> | undefined;
}

/** One step of bringing a database to the layout. */
export type AccountsSetupAction =
  | { readonly kind: "createCollection"; readonly collection: string }
  | { readonly kind: "createIndexes"; readonly collection: string; readonly indexes: readonly IndexDescription[] }
  | { readonly kind: "enableSharding" }
  | { readonly kind: "shardCollection"; readonly collection: string; readonly key: Document };

const sameKey = (a: Document, b: Document): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * The steps that take `state` to the layout; none when it is there already (so a second run
 * does nothing). Sharding steps only when `state.shardKeys` is known (a mongos), for the
 * collections that have a shard key. An index or shard key of ours that exists with another
 * key is an error, never silently replaced.
 */
export function planAccountsSetup(state: AccountsSetupState, wanted: readonly AccountsCollectionLayout[] = layout): AccountsSetupAction[] {
  const actions: AccountsSetupAction[] = [];
  const sharding: AccountsSetupAction[] = [];
  for (const c of wanted) {
    if (!state.collections.has(c.name)) actions.push({ kind: "createCollection", collection: c.name });
    const existing = state.indexes.get(c.name) ?? new Map<string, Document>();
    const missing = c.indexes.filter((ix) => {
      const key = existing.get(ix.name!);
      if (key && !sameKey(key, ix.key as Document)) {
        throw new Error(`index ${c.name}.${ix.name} exists with key ${JSON.stringify(key)}, not ${JSON.stringify(ix.key)}: drop it or migrate by hand`);
      }
      return !key;
    });
    if (missing.length > 0) actions.push({ kind: "createIndexes", collection: c.name, indexes: missing });
    if (state.shardKeys && c.shardKey) {
      const key = state.shardKeys.get(c.name);
      if (!key) sharding.push({ kind: "shardCollection", collection: c.name, key: c.shardKey });
      else if (!sameKey(key, c.shardKey)) {
        throw new Error(`collection ${c.name} is sharded on ${JSON.stringify(key)}, not ${JSON.stringify(c.shardKey)}: reshard it by hand`);
      }
    }
  }
  return sharding.length > 0 ? [...actions, { kind: "enableSharding" }, ...sharding] : actions;
}

/** True when the server is a mongos (a sharded cluster's router). */
async function isMongos(client: MongoClient): Promise<boolean> {
  const hello = await client.db("admin").command({ hello: 1 });
  return hello.msg === "isdbgrid";
}

/** Reads what the plan needs: collections, index keys and, through a mongos, shard keys. */
async function readAccountsSetupState(client: MongoClient, db: Db, opts: { sharded: boolean }): Promise<AccountsSetupState> {
  const names = new Set((await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name));
  const indexes = new Map<string, Map<string, Document>>();
  for (const c of layout) {
    if (!names.has(c.name)) continue;
    const list = await db.collection(c.name).listIndexes().toArray();
    indexes.set(c.name, new Map(list.map((ix) => [String(ix.name), ix.key as Document])));
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
async function applyAccountsSetup(client: MongoClient, db: Db, actions: readonly AccountsSetupAction[]): Promise<void> {
  const admin = client.db("admin");
  for (const a of actions) {
    switch (a.kind) {
      case "createCollection":
        await db.createCollection(a.collection);
        break;
      case "createIndexes":
        await db.collection(a.collection).createIndexes([...a.indexes]);
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

/**
 * Brings the database to the layout (collections and indexes; with `shard`, through a mongos,
 * sharding too) and returns what it did. Safe at every start and from several replicas at
 * once: each step is idempotent on the server.
 */
export async function ensureAccountsSchema(client: MongoClient, db: Db, opts: { shard: boolean }): Promise<AccountsSetupAction[]> {
  const sharded = opts.shard && (await isMongos(client));
  const actions = planAccountsSetup(await readAccountsSetupState(client, db, { sharded }));
  try {
    await applyAccountsSetup(client, db, actions);
  } catch (err) {
    // Another replica may have created the same collection meanwhile: plan again and carry
    // out only what is still missing.
    if ((err as { codeName?: string }).codeName !== "NamespaceExists") throw err;
    const again = planAccountsSetup(await readAccountsSetupState(client, db, { sharded }));
    await applyAccountsSetup(client, db, again);
    return again;
  }
  return actions;
}

/** One line per step, for the init script's output. */
export function describeAccountsSetupAction(a: AccountsSetupAction, dbName: string): string {
  switch (a.kind) {
    case "createCollection":
      return `created collection ${dbName}.${a.collection}`;
    case "createIndexes":
      return `created indexes on ${dbName}.${a.collection}: ${a.indexes.map((ix) => ix.name).join(", ")}`;
    case "enableSharding":
      return `enabled sharding on database ${dbName}`;
    case "shardCollection":
      return `sharded ${dbName}.${a.collection} on ${JSON.stringify(a.key)} (ranged)`;
  }
}

/** The database a connection string names (its path), else "messenger". */
export function databaseOf(uri: string): string {
  // The host list holds no "/" (the connection string spec has it percent-encoded in credentials).
  const path = /^mongodb(?:\+srv)?:\/\/[^/]*\/([^?]*)/.exec(uri)?.[1];
  return path ? decodeURIComponent(path) : "messenger";
}

/** What initMongoAccounts did. */
export interface AccountsMongoInitReport {
  readonly database: string;
  /** True when the server is a mongos: the collections were sharded (or already were). */
  readonly sharded: boolean;
  /** One line per step taken; empty when everything was in place. */
  readonly steps: readonly string[];
}

/**
 * Creates the accounts collections and indexes at `uri` and, through a mongos, enables
 * sharding on the database and shards each collection on its key. Idempotent: a second run
 * takes no step. For scripts/mongo-init.ts.
 */
export async function initMongoAccounts(uri: string, opts: { dbName?: string } = {}): Promise<AccountsMongoInitReport> {
  const client = new MongoClient(uri);
  await client.connect();
  try {
    const db = client.db(opts.dbName ?? databaseOf(uri));
    const sharded = await isMongos(client);
    const actions = await ensureAccountsSchema(client, db, { shard: sharded });
    return { database: db.databaseName, sharded, steps: actions.map((a) => describeAccountsSetupAction(a, db.databaseName)) };
  } finally {
    await client.close();
  }
}
