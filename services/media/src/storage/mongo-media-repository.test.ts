import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mediaRepositoryContract } from "./media-repository.contract.js";
import { mediaCollection } from "./mongo-media-layout.js";
import { openMongoMediaRepository } from "./mongo-media-repository.js";
import { initMongoMedia } from "./mongo-media-setup.js";

/*
 * The MongoDB adapter against a real server: MONGODB_URI names a standalone server, a replica
 * set or a mongos (the adapter needs no transactions). Every test gets its own database,
 * dropped after it. No MongoDB server can run on this machine, so without MONGODB_URI the
 * suite is skipped and says so.
 */
const uri = process.env.MONGODB_URI;
const noServer = "skipped: MONGODB_URI not set — no MongoDB server can run on this machine";
if (!uri) console.warn(`mongo-media-repository.test.ts: ${noServer}`);

let n = 0;
const freshName = (): string => `messenger_media_test_${process.pid}_${Date.now().toString(36)}_${n++}`;

async function dropDatabase(dbName: string): Promise<void> {
  const client = new MongoClient(uri!);
  try {
    await client.db(dbName).dropDatabase();
  } finally {
    await client.close();
  }
}

describe.skipIf(!uri)(uri ? "MongoDB media adapter at MONGODB_URI" : `MongoDB media adapter (${noServer})`, () => {
  // Each home is one database, prepared as an operator does (mongo-init: sharded through a
  // mongos); its replicas are separate clients of it (as separate media pods are).
  mediaRepositoryContract("mongodb", async () => {
    const dbName = freshName();
    await initMongoMedia(uri!, { dbName });
    return { open: () => openMongoMediaRepository(uri!, { dbName }), drop: () => dropDatabase(dbName) };
  });

  describe("layout", () => {
    let client: MongoClient;
    beforeAll(async () => {
      client = new MongoClient(uri!);
      await client.connect();
    });
    afterAll(async () => {
      await client.close();
    });

    it("creates its collection and indexes (and shards it through a mongos) once; a second run takes no step", async () => {
      const dbName = freshName();
      try {
        const first = await initMongoMedia(uri!, { dbName });
        const mongos = (await client.db("admin").command({ hello: 1 })).msg === "isdbgrid";
        expect(first.sharded).toBe(mongos);
        expect(first.steps[0]).toBe(`created collection ${dbName}.${mediaCollection}`);
        if (mongos) expect(first.steps.at(-1)).toBe(`sharded ${dbName}.${mediaCollection} on {"_id":1} (ranged)`);
        const indexes = (await client.db(dbName).collection(mediaCollection).listIndexes().toArray()).map((ix) => String(ix.name)).sort();
        expect(indexes).toEqual(["_id_", "pending_expiry", "state_id", "uploader_created_size_id"]);
        expect((await initMongoMedia(uri!, { dbName })).steps).toEqual([]);
      } finally {
        await client.db(dbName).dropDatabase();
      }
    });

    it("starts several replicas at once on an empty database, each ready to serve", async () => {
      const dbName = freshName();
      const replicas = await Promise.all(Array.from({ length: 4 }, () => openMongoMediaRepository(uri!, { dbName })));
      try {
        await replicas[0]!.insert({
          id: "m_1",
          conversationId: "c",
          uploaderUserId: "alice",
          fileName: "a.png",
          declaredMimeType: "image/png",
          declaredSize: 1,
          sha256: "00".repeat(32),
          createdAt: 1,
          uploadExpiresAt: 2,
        });
        for (const r of replicas) expect((await r.get("m_1"))?.uploaderUserId).toBe("alice");
      } finally {
        for (const r of replicas) await r.close();
        await dropDatabase(dbName);
      }
    });
  });
});
