import { MongoClient, type Collection } from "mongodb";
import type { MediaRepository } from "./media-repository.js";
import { toPendingDoc, toReadyDoc, toRecord, type MediaDoc } from "./mongo-media-documents.js";
import { mediaCollection } from "./mongo-media-layout.js";
import { ensureMediaSchema, mediaDatabaseOf } from "./mongo-media-setup.js";

export interface MongoMediaOptions {
  /** The database; default: the one the URI names, else "messenger" (the store's rule). */
  readonly dbName?: string;
}

/**
 * The media records shared by any number of media replicas, in one MongoDB collection. Every
 * write touches one document, so a standalone server, a replica set and a sharded cluster
 * all work (no transactions). What SQLite got from running one statement at a time, this gets
 * from single-document atomicity: completion is a conditional update (one replica wins), a
 * send's mark only moves forward (`$max`), an id is unique by `_id`. It creates its collection
 * and indexes at open; sharding it is `initMongoMedia`'s job. See services/media/docs/mongodb.md.
 */
export async function openMongoMediaRepository(uri: string, opts: MongoMediaOptions = {}): Promise<MediaRepository> {
  const client = new MongoClient(uri);
  await client.connect();
  try {
    const db = client.db(opts.dbName ?? mediaDatabaseOf(uri));
    await ensureMediaSchema(client, db, { shard: false });
    return mongoMediaRepository(client, db.collection<MediaDoc>(mediaCollection));
  } catch (err) {
    await client.close();
    throw err;
  }
}

function mongoMediaRepository(client: MongoClient, media: Collection<MediaDoc>): MediaRepository {
  return {
    async insert(r) {
      // A second record with the same id fails on _id (E11000), like SQLite's primary key.
      await media.insertOne(toPendingDoc(r));
    },
    async get(id) {
      const doc = await media.findOne({ _id: id });
      return doc ? toRecord(doc) : undefined;
    },
    async markReady(id, ready) {
      // Two replicas completing the same upload at once: the filter is evaluated atomically
      // with the write, so only one of them finds it pending; the other gets false.
      const res = await media.updateOne({ _id: id, state: "pending" }, { $set: { state: "ready", ready: toReadyDoc(ready) } });
      return res.modifiedCount === 1;
    },
    async touch(id, now) {
      // Never backwards: a slower replica's older mark must not shorten the cleanup's grace.
      await media.updateOne({ _id: id }, { $max: { lastResolvedAt: now } });
    },
    async bytesReservedSince(userId, since) {
      const [row] = await media
        .aggregate<{ total: number }>([
          { $match: { uploaderUserId: userId, createdAt: { $gte: since } } },
          { $group: { _id: null, total: { $sum: "$declaredSize" } } },
        ])
        .toArray();
      return row?.total ?? 0;
    },
    async abandonedUploads(before, limit) {
      // A limit of 0 means "no limit" to MongoDB, and nothing to SQLite.
      if (limit <= 0) return [];
      const docs = await media
        .find({ state: "pending", uploadExpiresAt: { $lt: before } })
        .sort({ uploadExpiresAt: 1 })
        .limit(limit)
        .toArray();
      return docs.map(toRecord);
    },
    async readyMedia(before, afterId, limit) {
      if (limit <= 0) return [];
      const docs = await media
        .find({ state: "ready", _id: { $gt: afterId }, "ready.completedAt": { $lt: before } })
        .sort({ state: 1, _id: 1 })
        .limit(limit)
        .toArray();
      return docs.map(toRecord);
    },
    async delete(ids) {
      if (ids.length === 0) return;
      await media.deleteMany({ _id: { $in: [...ids] } });
    },
    async close() {
      await client.close();
    },
  };
}
