import { describeSetupAction, planMongoSetup, stateAfterSetup, type MongoSetupState } from "@messenger/mongo-setup";
import { describe, expect, it } from "vitest";
import { mediaCollection, mediaLayout } from "./mongo-media-layout.js";

/*
 * What `initMongoMedia` and the adapter's open plan for the media layout, checked without a
 * server. (The planner itself is tested in packages/mongo-setup; carrying the plan out on a
 * real server is in mongo-media-repository.test.ts, when MONGODB_URI is set.)
 */

const empty = (mongos: boolean): MongoSetupState => ({ collections: new Set(), indexes: new Map(), shardKeys: mongos ? new Map() : undefined });

describe("media mongo setup plan", () => {
  it("creates the collection and every index on an unsharded server, and nothing the second time", () => {
    const first = planMongoSetup(empty(false), mediaLayout);
    expect(first.map((a) => describeSetupAction(a, "db"))).toEqual([
      "created collection db.media",
      "created indexes on db.media: uploader_created_size_id, pending_expiry, state_id",
    ]);
    expect(planMongoSetup(stateAfterSetup(empty(false), first), mediaLayout)).toEqual([]);
  });

  it("through a mongos also enables sharding and shards the collection on its ranged id, once", () => {
    const first = planMongoSetup(empty(true), mediaLayout);
    expect(first.slice(2).map((a) => describeSetupAction(a, "db"))).toEqual(["enabled sharding on database db", 'sharded db.media on {"_id":1} (ranged)']);
    expect(planMongoSetup(stateAfterSetup(empty(true), first), mediaLayout)).toEqual([]);
  });

  it("adds the quota index that holds _id beside the earlier one without it, and leaves that one alone", () => {
    const full = stateAfterSetup(empty(false), planMongoSetup(empty(false), mediaLayout));
    const before = new Map([...full.indexes.get(mediaCollection)!].filter(([name]) => name !== "uploader_created_size_id"));
    before.set("uploader_created", { v: 2, key: { uploaderUserId: 1, createdAt: 1, declaredSize: 1 }, name: "uploader_created" });
    expect(planMongoSetup({ ...full, indexes: new Map([[mediaCollection, before]]) }, mediaLayout)).toEqual([
      { kind: "createIndexes", collection: mediaCollection, indexes: [expect.objectContaining({ name: "uploader_created_size_id" })] },
    ]);
  });

  it("refuses a sweep index that is not partial on pending records", () => {
    const full = stateAfterSetup(empty(false), planMongoSetup(empty(false), mediaLayout));
    const indexes = new Map(full.indexes.get(mediaCollection)!);
    indexes.set("pending_expiry", { v: 2, key: { uploadExpiresAt: 1 }, name: "pending_expiry" });
    expect(() => planMongoSetup({ ...full, indexes: new Map([[mediaCollection, indexes]]) }, mediaLayout)).toThrow(
      /index pending_expiry of media exists with partialFilterExpression none, not \{"state":"pending"\}: .*drop index pending_expiry/,
    );
  });
});

describe("media mongo layout", () => {
  it("has no unique index but _id, which is the shard key (MongoDB enforces no other unique index on a sharded collection)", () => {
    for (const c of mediaLayout) {
      expect(c.shardKey).toEqual({ _id: 1 });
      expect(c.indexes.filter((ix) => ix.unique)).toEqual([]);
    }
  });

  it("has a quota index holding every field the quota reads and the shard key, so that a shard answers it from the index alone", () => {
    const quota = mediaLayout[0]!.indexes.find((ix) => ix.name === "uploader_created_size_id")!;
    // bytesReservedSince: $match on uploaderUserId and createdAt, $sum of declaredSize.
    expect(Object.keys(quota.key)).toEqual(["uploaderUserId", "createdAt", "declaredSize", ...Object.keys(mediaLayout[0]!.shardKey)]);
  });
});
