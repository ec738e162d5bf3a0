import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code } from "@connectrpc/connect";
import { afterAll, describe, expect, it } from "vitest";
import type { HistoryRepository } from "../storage/history-repository.js";
import { openSqliteHistoryRepository } from "../storage/sqlite-history-repository.js";
import { appendMessages } from "./append-messages.js";

const dir = mkdtempSync(join(tmpdir(), "messenger-append-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("appendMessages", () => {
  it("refuses a message for what it is without holding back the rest, and stores the rest in order", async () => {
    const repo = openSqliteHistoryRepository(join(dir, "a.db"));
    const conv = await repo.openDirect("alice", "bob", 1);
    const send = (clientMessageId: string, text = "hi", senderUserId = "alice") => ({ conversationId: conv.id, clientMessageId, text, senderUserId, senderDeviceId: "phone" });
    const results = await appendMessages(repo, [send("m1"), send("m2", ""), send("m3", "hi", "mallory"), send("m4")], 10);
    expect(results.map((r) => (r.ok ? r.message.seq : Code[r.error.code]))).toEqual([1, "InvalidArgument", "PermissionDenied", 2]);
    await repo.close();
  });

  it("stores nothing after a message whose conversation could not be read, and asks for all of them again", async () => {
    const real = openSqliteHistoryRepository(join(dir, "b.db"));
    const a = await real.openDirect("alice", "bob", 1);
    const b = await real.openDirect("alice", "carol", 1);
    const flaky: HistoryRepository = {
      ...real,
      getConversation: async (id) => {
        if (id === b.id) throw new Error("disk I/O error");
        return real.getConversation(id);
      },
    };
    const send = (conversationId: string, clientMessageId: string) => ({ conversationId, clientMessageId, text: "hi", senderUserId: "alice", senderDeviceId: "phone" });
    const results = await appendMessages(flaky, [send(a.id, "m1"), send(b.id, "m2"), send(a.id, "m3")], 10);
    expect(results.map((r) => (r.ok ? "stored" : Code[r.error.code]))).toEqual(["stored", "Unavailable", "Unavailable"]);
    expect((await real.listMessages(a.id, { limit: 10, direction: "forward" })).map((m) => m.clientMessageId)).toEqual(["m1"]);
    await real.close();
  });
});
