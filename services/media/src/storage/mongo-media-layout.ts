import type { MongoCollectionLayout, MongoIndexLayout } from "@messenger/mongo-setup";

/**
 * Where the MongoDB adapter keeps media records, in one place: the collection, its shard key
 * and the indexes its queries use. The adapter creates the collection and indexes at open;
 * `initMongoMedia` does the same and, through a mongos, shards the collection on its key.
 * Reasons: services/media/docs/mongodb.md.
 */
export const mediaCollection = "media";

/** A collection's layout: its shard key (ranged) and its indexes. */
export interface MediaCollectionLayout extends MongoCollectionLayout {
  /**
   * Ranged on the media id: every CompleteUpload, GetDownloadUrl and ResolveMedia reads or
   * writes one record by id, so each goes to one shard; ids are `m_` + 128 random bits, so
   * new records spread over the key range without a hot last chunk.
   */
  readonly shardKey: Readonly<Record<string, 1>>;
  readonly indexes: readonly MongoIndexLayout[];
}

export const mediaLayout: readonly MediaCollectionLayout[] = [
  {
    name: mediaCollection,
    shardKey: { _id: 1 },
    indexes: [
      // The daily quota: the sum of a user's declared sizes since a time, read from the index
      // alone. `_id` (the shard key) is in it because on a sharded cluster each shard drops
      // documents it does not own (orphans) by their shard key, and without that key in the
      // index it reads every document to find it. (Named anew: "uploader_created" had the
      // key without _id, and an index cannot change its key under the same name.)
      { name: "uploader_created_size_id", key: { uploaderUserId: 1, createdAt: 1, declaredSize: 1, _id: 1 } },
      // The abandoned-upload sweep, oldest expiry first; completed records leave the index.
      { name: "pending_expiry", key: { uploadExpiresAt: 1 }, partialFilterExpression: { state: "pending" } },
      // The unreferenced sweep walks completed records by id.
      { name: "state_id", key: { state: 1, _id: 1 } },
    ],
  },
];
