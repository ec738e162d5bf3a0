import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { historyRepositoryContract } from "./history-repository.contract.js";
import { openSqliteHistoryRepository } from "./sqlite-history-repository.js";
import { SqliteWriter } from "./sqlite-writer.js";

const dir = mkdtempSync(join(tmpdir(), "messenger-history-"));
let n = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

historyRepositoryContract("sqlite file", async () => openSqliteHistoryRepository(join(dir, `history-${n++}.db`)));

describe("sqlite history writer thread", () => {
  it("commits writes in the order they were made, across batches", async () => {
    const repo = openSqliteHistoryRepository(join(dir, `order-${n++}.db`));
    const conv = await repo.openDirect("alice", "bob", 1);
    const send = async (i: number) => {
      const [o] = await repo.append([{ conversationId: conv.id, senderUserId: "alice", senderDeviceId: "phone", clientMessageId: `m${i}`, text: `t${i}`, now: i }]);
      return o!.ok ? o!.message.seq : o!.error;
    };
    const first = await Promise.all(Array.from({ length: 300 }, (_, i) => send(i)));
    // Made while the previous writes' batch may still be committing: they form later batches.
    const later = await Promise.all(Array.from({ length: 300 }, (_, i) => new Promise((r) => setImmediate(r)).then(() => send(300 + i))));
    expect([...first, ...later]).toEqual(Array.from({ length: 600 }, (_, i) => i + 1));
    await repo.close();
  });

  it("keeps what it answered after the file is closed and opened again", async () => {
    const path = join(dir, `reopen-${n++}.db`);
    const repo = openSqliteHistoryRepository(path);
    const conv = await repo.openDirect("alice", "bob", 1);
    const [sent] = await repo.append([{ conversationId: conv.id, senderUserId: "alice", senderDeviceId: "phone", clientMessageId: "m1", text: "hello", now: 2 }]);
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
    await expect(repo.openDirect("alice", "bob", 1)).rejects.toThrow(/closed/);
  });

  it("fails writes clearly, and still closes, when the writer thread cannot open the file", async () => {
    const writer = new SqliteWriter(join(dir, "missing-dir", "\0bad.db"));
    await expect(writer.write({ kind: "openDirect", userA: "alice", userB: "bob", now: 1 })).rejects.toThrow(/cannot start/);
    await writer.close();
  });
});
