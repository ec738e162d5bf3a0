import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AppendInput, HistoryRepository } from "./history-repository.js";
import { historyRepositoryContract } from "./history-repository.contract.js";
import type { RowsWritten } from "./sqlite-writes.js";
import { collections } from "./mongo-layout.js";
import { openMongoHistoryRepository, type MongoHistoryOptions } from "./mongo-history-repository.js";
import { ensureMongoSchema, initMongoHistory, isMongos } from "./mongo-setup.js";

/*
 * The MongoDB adapter against a real server: MONGODB_URI names a replica set or a mongos
 * (the adapter uses transactions; a standalone mongod has none). Every test gets its own
 * database, dropped after it. No MongoDB server can run on this machine, so without
 * MONGODB_URI the suite is skipped and says so.
 */
const uri = process.env.MONGODB_URI;
const noServer = "skipped: MONGODB_URI not set — no MongoDB server can run on this machine";
if (!uri) console.warn(`mongo-history-repository.test.ts: ${noServer}`);

let n = 0;
const freshName = (): string => `messenger_test_${process.pid}_${Date.now().toString(36)}_${n++}`;

async function dropDatabase(dbName: string): Promise<void> {
  const client = new MongoClient(uri!);
  try {
    await client.db(dbName).dropDatabase();
  } finally {
    await client.close();
  }
}

/** A repository on a fresh database that is dropped when the repository closes. */
async function openFresh(opts: MongoHistoryOptions = {}): Promise<HistoryRepository & { dbName: string }> {
  const dbName = freshName();
  const repo = await openMongoHistoryRepository(uri!, { ...opts, dbName });
  return {
    ...repo,
    dbName,
    async close() {
      await repo.close();
      await dropDatabase(dbName);
    },
  };
}

const input = (conversationId: string, clientMessageId: string, senderUserId: string, now = 1): AppendInput => ({
  conversationId,
  senderUserId,
  senderDeviceId: "phone",
  clientMessageId,
  body: { kind: "text", text: `t ${clientMessageId}` },
  replyToSeq: 0,
  clientSentAt: undefined,
  now,
});

describe.skipIf(!uri)(uri ? "MongoDB history adapter at MONGODB_URI" : `MongoDB history adapter (${noServer})`, () => {
  historyRepositoryContract("mongodb", () => openFresh());

  describe("layout", () => {
    let client: MongoClient;
    const dbName = freshName();
    beforeAll(async () => {
      client = new MongoClient(uri!);
      await client.connect();
    });
    afterAll(async () => {
      await client.db(dbName).dropDatabase();
      await client.close();
    });

    it("creates its collections and indexes (and shards them through a mongos) once; a second run takes no step", async () => {
      const first = await initMongoHistory(uri!, { dbName });
      expect(first.sharded).toBe(await isMongos(client));
      expect(first.steps.filter((s) => s.startsWith("created collection"))).toHaveLength(3);
      if (first.sharded) expect(first.steps.filter((s) => s.startsWith("sharded"))).toHaveLength(3);
      const names = (await client.db(dbName).listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).sort();
      expect(names).toEqual(Object.values(collections).sort());
      const indexes = (await client.db(dbName).collection(collections.conversations).listIndexes().toArray()).map((ix) => String(ix.name));
      expect(indexes).toEqual(expect.arrayContaining(["conversation", "messages_idempotency", "messages_seq"]));
      expect((await initMongoHistory(uri!, { dbName })).steps).toEqual([]);
      expect(await ensureMongoSchema(client, client.db(dbName), { shard: true })).toEqual([]);
    });
  });

  describe("mongodb adapter", () => {
    it("writes the same four documents per message in a group of 2 and of 1,000 (message, head, sender's member, push outbox entry)", async () => {
      const perMessage = async (groupSize: number): Promise<number[]> => {
        const written: number[] = [];
        const repo = await openFresh({ onCommitted: (rows: RowsWritten) => written.push(rows.append) });
        const members = Array.from({ length: groupSize - 1 }, (_, i) => `u${String(i).padStart(5, "0")}`);
        await repo.applyGroupChange({ conversationId: "g", actorUserId: "owner", expectedMemberVersion: 0, change: { kind: "create", title: "big", description: "", memberUserIds: members }, now: 1 });
        written.length = 0;
        for (let i = 0; i < 5; i++) expect((await repo.append([input("g", `m${i}`, members[i % members.length]!, 10 + i)]))[0]!.ok).toBe(true);
        await repo.close();
        return written;
      };
      const small = await perMessage(2);
      expect(small).toEqual([4, 4, 4, 4, 4]);
      expect(await perMessage(1_000)).toEqual(small);
    });

    it("does not show, nor count in a page, an index row written ahead of a join that was refused", async () => {
      const repo = await openFresh();
      const create = (id: string, members: string[]) =>
        repo.applyGroupChange({ conversationId: id, actorUserId: "owner", expectedMemberVersion: 0, change: { kind: "create", title: id, description: "", memberUserIds: members }, now: 1 });
      await create("g-a", ["bob"]);
      await create("g-b", ["carol"]);
      await create("g-c", ["bob"]);
      // Refused (g-b exists): bob's row for g-b was written ahead of the transaction.
      await expect(create("g-b", ["bob"])).rejects.toMatchObject({ kind: "already_exists" });
      expect((await repo.userConversations("bob", "", 2)).map((r) => r.conversation.id)).toEqual(["g-a", "g-c"]);
      expect(await repo.userConversation("bob", "g-b")).toBeUndefined();
      await expect(repo.acceptRequest("bob", "g-b")).rejects.toMatchObject({ kind: "not_found" });
      await repo.close();
    });

    it("puts back a direct conversation's index rows, in their folders, when an open is retried after dying between its two steps", async () => {
      const repo = await openFresh();
      const conv = await repo.openDirect("alice", "bob", 1, true);
      // What an open that died after its transaction leaves: the conversation without index rows.
      const client = new MongoClient(uri!);
      await client.db(repo.dbName).collection(collections.userConversations).deleteMany({ conversationId: conv.id });
      await client.close();
      expect(await repo.userConversation("bob", conv.id)).toBeUndefined();
      await repo.openDirect("alice", "bob", 2, true);
      expect([(await repo.userConversation("alice", conv.id))?.request, (await repo.userConversation("bob", conv.id))?.request]).toEqual([false, true]);
      await repo.close();
    });

    it("moves a large group's receipts version only when its summary moves, not with every member's receipt", async () => {
      const repo = await openFresh({ largeGroupThreshold: 2 });
      await repo.applyGroupChange({ conversationId: "big", actorUserId: "owner", expectedMemberVersion: 0, change: { kind: "create", title: "t", description: "", memberUserIds: ["bob", "carol"] }, now: 1 });
      await repo.append([input("big", "m1", "owner", 2)]);
      const version = async () => (await repo.getConversation("big"))!.receiptsVersion;
      const start = await version();
      expect((await repo.updateCursor("big", "bob", "phone", 2, 2)).changed).toBe(true);
      expect(await version()).toBe(start);
      const carol = await repo.updateCursor("big", "carol", "phone", 2, 2);
      expect(carol.summary).toEqual({ memberCount: 3, deliveredAllSeq: 2, readAllSeq: 2 });
      expect(carol.receiptsVersion).toBeGreaterThan(start);
      expect(await version()).toBe(carol.receiptsVersion);
      await repo.close();
    });
  });
});
