import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { permanentRetention, type AppendInput, type AppendOutcome, type ConversationRecord } from "./history-repository.js";
import { historyRepositoryContract } from "./history-repository.contract.js";
import { openSqliteHistoryRepository } from "./sqlite-history-repository.js";
import { openHistoryDatabase } from "./sqlite-schema.js";
import { SqliteWriter } from "./sqlite-writer.js";
import { historyWrites, type WriteOutcome } from "./sqlite-writes.js";

const dir = mkdtempSync(join(tmpdir(), "messenger-history-"));
let n = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

historyRepositoryContract("sqlite file", async () => openSqliteHistoryRepository(join(dir, `history-${n++}.db`)));

const input = (conversationId: string, clientMessageId: string, now = 1, senderUserId = "alice"): AppendInput => ({
  conversationId,
  senderUserId,
  senderDeviceId: "phone",
  clientMessageId,
  body: { kind: "text", text: `t ${clientMessageId}` },
  replyToSeq: 0,
  clientSentAt: undefined,
  now,
});

describe("sqlite history writer thread", () => {
  it("commits writes in the order they were made, across batches", async () => {
    const repo = openSqliteHistoryRepository(join(dir, `order-${n++}.db`));
    const conv = await repo.openDirect("alice", "bob", 1, false);
    const send = async (i: number) => {
      const [o] = await repo.append([input(conv.id, `m${i}`, i)]);
      return o!.ok ? o!.message.seq : o!.error;
    };
    const first = await Promise.all(Array.from({ length: 300 }, (_, i) => send(i)));
    // Made while the previous writes' batch may still be committing: they form later batches.
    const later = await Promise.all(Array.from({ length: 300 }, (_, i) => new Promise((r) => setImmediate(r)).then(() => send(300 + i))));
    expect([...first, ...later]).toEqual(Array.from({ length: 600 }, (_, i) => i + 1));
    await repo.close();
  });

  it("stores nothing of a batch after the first item that fails to be stored", async () => {
    const path = join(dir, `fail-${n++}.db`);
    const repo = openSqliteHistoryRepository(path);
    const conv = await repo.openDirect("alice", "bob", 1, false);
    // A storage failure on one insert, injected from outside the adapter.
    const other = new Database(path);
    other.exec("CREATE TRIGGER boom BEFORE INSERT ON messages WHEN NEW.client_message_id = 'boom' BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
    other.close();
    const out = await repo.append([input(conv.id, "b1"), input(conv.id, "boom"), input(conv.id, "b3"), input("dm_missing", "b4")]);
    expect(out.map((o) => (o.ok ? "stored" : o.refused ? o.kind : "failed"))).toEqual(["stored", "failed", "failed", "failed"]);
    expect((await repo.listMessages(conv.id, { limit: 10, direction: "forward" })).map((m) => m.clientMessageId)).toEqual(["b1"]);
    expect((await repo.getConversation(conv.id))?.lastSeq).toBe(1);
    await repo.close();
  });

  it("keeps what it answered after the file is closed and opened again", async () => {
    const path = join(dir, `reopen-${n++}.db`);
    const repo = openSqliteHistoryRepository(path);
    const conv = await repo.openDirect("alice", "bob", 1, false);
    const [sent] = await repo.append([input(conv.id, "m1", 2)]);
    await repo.updateCursor(conv.id, "bob", "laptop", 1, 1);
    await repo.close();
    const again = openSqliteHistoryRepository(path);
    expect(await again.listMessages(conv.id, { limit: 10, direction: "forward" })).toEqual([sent!.ok && sent!.message]);
    expect(await again.receipts(conv.id)).toContainEqual({ userId: "bob", deliveredSeq: 1, readSeq: 1 });
    await again.close();
  });

  it("refuses writes after close instead of losing them silently", async () => {
    const repo = openSqliteHistoryRepository(join(dir, `closed-${n++}.db`));
    await repo.close();
    await expect(repo.openDirect("alice", "bob", 1, false)).rejects.toThrow(/closed/);
  });

  it("fails writes clearly, and still closes, when the writer thread cannot open the file", async () => {
    const writer = new SqliteWriter(join(dir, "missing-dir", "\0bad.db"));
    await expect(writer.write({ kind: "openDirect", opener: "alice", peer: "bob", now: 1, peerLandsInRequests: false, retention: permanentRetention })).rejects.toThrow(/cannot start/);
    await writer.close();
  });
});

describe("sqlite write cost", () => {
  /** Rows changed by one committed append, from SQLite's own counter on the writing connection. */
  function rowsWrittenPerMessage(groupSize: number): number[] {
    const db = openHistoryDatabase(join(dir, `cost-${groupSize}-${n++}.db`));
    const writes = historyWrites(db);
    const members = Array.from({ length: groupSize - 1 }, (_, i) => `u${String(i).padStart(5, "0")}`);
    const [created] = writes.commit([{ kind: "applyGroupChange", input: { conversationId: "g", actorUserId: "owner", expectedMemberVersion: 0, change: { kind: "create", title: "big", description: "", memberUserIds: members }, now: 1 } }]);
    expect(created!.ok).toBe(true);
    const total = (): number => (db.prepare("SELECT total_changes() AS n").get() as { n: number }).n;
    const perMessage: number[] = [];
    for (let i = 0; i < 5; i++) {
      const before = total();
      const [o] = writes.commit([{ kind: "append", inputs: [input("g", `m${i}`, 10 + i, members[i % members.length]!)] }]);
      expect(o!.ok).toBe(true);
      perMessage.push(total() - before);
    }
    db.close();
    return perMessage;
  }

  it("writes the same few rows per message in a group of 2 and of 1,000 (message, head, sender's receipt, push outbox entry)", () => {
    const small = rowsWrittenPerMessage(2);
    const large = rowsWrittenPerMessage(1_000);
    expect(small).toEqual([4, 4, 4, 4, 4]);
    expect(large).toEqual(small);
  });
});

describe("sqlite history: a block in the writer", () => {
  it("orders a block against the appends of its batch: those before it are stored, those after it refused, nothing written for them", () => {
    const db = openHistoryDatabase(join(dir, `block-race-${n++}.db`));
    const writes = historyWrites(db);
    const [opened] = writes.commit([{ kind: "openDirect", opener: "alice", peer: "bob", now: 1, peerLandsInRequests: false, retention: permanentRetention }]);
    const id = opened!.ok ? (opened!.value as ConversationRecord).id : "";
    writes.takeRowsWritten();
    const out = writes.commit([
      { kind: "append", inputs: [input(id, "before", 2, "alice")] },
      { kind: "setDirectRelation", userId: "bob", peerUserId: "alice", blocking: true, contact: false },
      { kind: "append", inputs: [input(id, "after, blocked", 3, "alice"), input(id, "after, blocker", 4, "bob")] },
    ]);
    const appended = (o: WriteOutcome | undefined) => (o?.ok ? (o.value as AppendOutcome[]).map((a) => (a.ok ? a.message.seq : a.refused ? a.kind : "failed")) : o?.message);
    expect(appended(out[0])).toEqual([1]);
    expect(out[1]).toMatchObject({ ok: true });
    expect(appended(out[2])).toEqual(["permission_denied", "permission_denied"]);
    // Only the message before the block cost rows: the refused ones wrote nothing.
    expect(writes.takeRowsWritten().append).toBe(4);
    const row = db.prepare<[string], { last_seq: number; blocked: number }>("SELECT last_seq, blocked FROM conversations WHERE id = ?").get(id);
    expect(row).toEqual({ last_seq: 1, blocked: 1 });
    expect(db.prepare<[string], { n: number }>("SELECT count(*) AS n FROM messages WHERE conversation_id = ?").get(id)!.n).toBe(1);
    db.close();
  });

  it("orders writes made one after another through the writer thread the same way", async () => {
    const repo = openSqliteHistoryRepository(join(dir, `block-order-${n++}.db`));
    const conv = await repo.openDirect("alice", "bob", 1, false);
    // Made in one event-loop turn, so they share a batch, in this order.
    const [before, , after] = await Promise.all([
      repo.append([input(conv.id, "before", 2)]),
      repo.setDirectRelation("alice", "bob", true, false),
      repo.append([input(conv.id, "after", 3)]),
    ]);
    expect(before[0]).toMatchObject({ ok: true, message: { seq: 1 } });
    expect(after[0]).toMatchObject({ ok: false, refused: true, kind: "permission_denied" });
    expect(await repo.getConversation(conv.id)).toMatchObject({ lastSeq: 1, blocked: true });
    await repo.close();
  });
});

describe("sqlite history: receipts version of a large group", () => {
  it("moves only when the group's summary moves, not with every member's receipt", async () => {
    const repo = openSqliteHistoryRepository(join(dir, `large-${n++}.db`), { largeGroupThreshold: 2 });
    const created = await repo.applyGroupChange({
      conversationId: "big",
      actorUserId: "owner",
      expectedMemberVersion: 0,
      change: { kind: "create", title: "t", description: "", memberUserIds: ["bob", "carol"] },
      now: 1,
    });
    const version = async () => (await repo.getConversation("big"))!.receiptsVersion;
    await repo.append([input("big", "m1", 2, "owner")]);
    const start = await version();
    // bob reads: carol has not, so nobody-read-all stays where it was.
    const bob = await repo.updateCursor("big", "bob", "phone", 2, 2);
    expect(bob.changed).toBe(true);
    expect(await version()).toBe(start);
    // carol reads: now everyone has, and the summary moved.
    const carol = await repo.updateCursor("big", "carol", "phone", 2, 2);
    expect(carol.summary.readAllSeq).toBe(2);
    expect(await version()).toBeGreaterThan(start);
    expect(created.memberCount).toBe(3);
    await repo.close();
  });
});
