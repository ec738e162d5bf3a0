import type { Document } from "mongodb";
import type { MongoCollectionLayout, MongoIndexLayout } from "./collection-layout.js";
import { indexDifference, indexSpecOf } from "./index-spec.js";

/** What exists in the database now, as far as a layout cares. */
export interface MongoSetupState {
  readonly collections: ReadonlySet<string>;
  /** Existing indexes by collection: name -> the index as `listIndexes` returns it (key and options). */
  readonly indexes: ReadonlyMap<string, ReadonlyMap<string, Document>>;
  /** Shard keys of sharded collections; undefined when the server is not a mongos. */
  readonly shardKeys: ReadonlyMap<string, Document> | undefined;
}

/** One step of bringing a database to a layout. */
export type MongoSetupAction =
  | { readonly kind: "createCollection"; readonly collection: string }
  | { readonly kind: "createIndexes"; readonly collection: string; readonly indexes: readonly MongoIndexLayout[] }
  | { readonly kind: "enableSharding" }
  | { readonly kind: "shardCollection"; readonly collection: string; readonly key: Document };

/**
 * The database holds an index or a shard key of a layout's name that is not the layout's.
 * Nothing was changed: MongoDB cannot change an index's key or options in place, and
 * replacing it unasked could take a unique or TTL guarantee away while the service runs, so
 * the operator decides. `problems` has one line each, with what to do.
 */
export class MongoLayoutConflictError extends Error {
  override readonly name = "MongoLayoutConflictError";
  constructor(readonly problems: readonly string[]) {
    super(`the database does not match the layout (nothing was changed):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
}

const sameKey = (a: Document, b: Document): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * The steps that take `state` to `layout`; none when it is there already (so a second run
 * does nothing). Sharding steps only when `state.shardKeys` is known (a mongos), for the
 * collections that have a shard key. An index of the layout's name that exists with another
 * key or other options, or a collection sharded on another key, is never replaced: the plan
 * throws a MongoLayoutConflictError naming every such one.
 */
export function planMongoSetup(state: MongoSetupState, layout: readonly MongoCollectionLayout[]): MongoSetupAction[] {
  const actions: MongoSetupAction[] = [];
  const sharding: MongoSetupAction[] = [];
  const problems: string[] = [];
  for (const c of layout) {
    if (!state.collections.has(c.name)) actions.push({ kind: "createCollection", collection: c.name });
    const existing = state.indexes.get(c.name) ?? new Map<string, Document>();
    const missing: MongoIndexLayout[] = [];
    for (const ix of c.indexes) {
      const found = existing.get(ix.name);
      if (!found) {
        missing.push(ix);
        continue;
      }
      const difference = indexDifference(ix, found);
      if (difference) {
        problems.push(
          `index ${ix.name} of ${c.name} exists with ${difference}: MongoDB cannot change an index in place; ` +
            `drop index ${ix.name} (db.getCollection(${JSON.stringify(c.name)}).dropIndex(${JSON.stringify(ix.name)})) and run mongo-init again`,
        );
      }
    }
    if (missing.length > 0) actions.push({ kind: "createIndexes", collection: c.name, indexes: missing });
    if (state.shardKeys && c.shardKey) {
      const key = state.shardKeys.get(c.name);
      if (!key) sharding.push({ kind: "shardCollection", collection: c.name, key: c.shardKey });
      else if (!sameKey(key, c.shardKey)) {
        problems.push(`collection ${c.name} is sharded on ${JSON.stringify(key)}, not ${JSON.stringify(c.shardKey)}: reshard it by hand (reshardCollection)`);
      }
    }
  }
  if (problems.length > 0) throw new MongoLayoutConflictError(problems);
  return sharding.length > 0 ? [...actions, { kind: "enableSharding" }, ...sharding] : actions;
}

/**
 * The state a server is in once `actions` are carried out, as readMongoSetupState would find
 * it: checks a plan without a server (a second plan from it must be empty).
 */
export function stateAfterSetup(state: MongoSetupState, actions: readonly MongoSetupAction[]): MongoSetupState {
  const collections = new Set(state.collections);
  const indexes = new Map([...state.indexes].map(([c, m]) => [c, new Map(m)]));
  const shardKeys = state.shardKeys ? new Map(state.shardKeys) : undefined;
  for (const a of actions) {
    switch (a.kind) {
      case "createCollection":
        collections.add(a.collection);
        break;
      case "createIndexes": {
        // createIndexes creates a missing collection, with its _id index.
        collections.add(a.collection);
        const m = indexes.get(a.collection) ?? new Map<string, Document>([["_id_", { v: 2, key: { _id: 1 }, name: "_id_" }]]);
        for (const ix of a.indexes) m.set(ix.name, indexSpecOf(ix));
        indexes.set(a.collection, m);
        break;
      }
      case "enableSharding":
        break;
      case "shardCollection":
        shardKeys?.set(a.collection, a.key);
        break;
    }
  }
  return { collections, indexes, shardKeys };
}

/** One line per step, for the init script's output. */
export function describeSetupAction(a: MongoSetupAction, dbName: string): string {
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
