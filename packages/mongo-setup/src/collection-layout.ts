import type { Document, IndexDirection } from "mongodb";

/**
 * One index a layout wants. Only these options can be stated, and the planner compares every
 * one of them with what the server holds: an option a layout could state but the planner did
 * not compare would pass silently when it differs (a TTL index without its expiry never
 * deletes anything).
 */
export interface MongoIndexLayout {
  /** The index's name: what the planner looks it up by. */
  readonly name: string;
  readonly key: Readonly<Record<string, IndexDirection>>;
  readonly unique?: boolean;
  readonly sparse?: boolean;
  /** A TTL index: MongoDB deletes a document this long after the date in its (single) key field. */
  readonly expireAfterSeconds?: number;
  readonly partialFilterExpression?: Document;
}

/**
 * One collection a service keeps: its indexes and, when it is sharded on a sharded cluster,
 * its shard key. Shard keys are ranged, never hashed: MongoDB enforces a unique index on a
 * sharded collection only when a ranged shard key prefixes it.
 */
export interface MongoCollectionLayout {
  readonly name: string;
  /** Undefined: the collection stays unsharded even on a sharded cluster. */
  readonly shardKey: Readonly<Record<string, 1>> | undefined;
  readonly indexes: readonly MongoIndexLayout[];
}
