import type { IndexDescription } from "mongodb";

/**
 * Where the MongoDB adapter keeps media records, in one place: the collection, its shard key
 * and the indexes its queries use. The adapter creates the collection and indexes at open;
 * `initMongoMedia` does the same and, through a mongos, shards the collection on its key.
 * Reasons: services/media/docs/mongodb.md.
 */
export const mediaCollection = "media";

/** A collection's layout: its shard key (ranged) and its indexes. */
export interface MediaCollectionLayout {
  readonly name: string;
  /**
   * Ranged on the media id: every CompleteUpload, GetDownloadUrl and ResolveMedia reads or
   * writes one record by id, so each goes to one shard; ids are `m_` + 128 random bits, so
   * new records spread over the key range without a hot last chunk.
   */
  readonly shardKey: Readonly<Record<string, 1>>;
  readonly indexes: readonly IndexDescription[];
}

export const mediaLayout: readonly MediaCollectionLayout[] = [
  {
    name: mediaCollection,
    shardKey: { _id: 1 },
    indexes: [
      // The daily quota: the sum of a user's declared sizes since a time, read from the index alone.
      { name: "uploader_created", key: { uploaderUserId: 1, createdAt: 1, declaredSize: 1 } },
      // The abandoned-upload sweep, oldest expiry first; completed records leave the index.
      { name: "pending_expiry", key: { uploadExpiresAt: 1 }, partialFilterExpression: { state: "pending" } },
      // The unreferenced sweep walks completed records by id.
      { name: "state_id", key: { state: 1, _id: 1 } },
    ],
  },
];
