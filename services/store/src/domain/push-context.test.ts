import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { MediaRefSchema } from "@messenger/proto/chat/v1/types";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { HistoryRepository, MessageBody } from "../storage/history-repository.js";
import { openSqliteHistoryRepository } from "../storage/sqlite-history-repository.js";
import { pushContext } from "./push-context.js";

let dir: string;
let repo: HistoryRepository;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "messenger-push-context-"));
  repo = openSqliteHistoryRepository(join(dir, "history.db"));
});
afterEach(async () => {
  await repo.close();
  rmSync(dir, { recursive: true, force: true });
});

const send = async (conversationId: string, sender: string, key: string, body: MessageBody = { kind: "text", text: key }) =>
  repo.append([{ conversationId, senderUserId: sender, senderDeviceId: "phone", clientMessageId: key, body, replyToSeq: 0, clientSentAt: undefined, now: 1 }]);

describe("what the push worker learns of one user and one message", () => {
  it("the devices' delivered marks, the unread total over the inbox without requests, and a preview only of a text the user may see", async () => {
    const d = await repo.openDirect("alice", "bob", 1, false);
    for (const k of ["one", "two", "three"]) await send(d.id, "alice", k);
    await send(d.id, "alice", "photo", { kind: "media", media: create(MediaRefSchema, { mediaId: "m" }) });
    await repo.updateCursor(d.id, "bob", "phone", 2, 1);
    const other = await repo.openDirect("carol", "bob", 1, false);
    await send(other.id, "carol", "hey");
    await send(other.id, "carol", "there");
    // A message request bob never accepted does not count.
    const request = await repo.openDirect("mallory", "bob", 1, true);
    await send(request.id, "mallory", "spam");

    const c = await pushContext(repo, { userId: "bob", conversationId: d.id, seq: 3, deviceIds: ["phone", "laptop"], withPreview: true });
    expect([...c.deliveredSeqs]).toEqual([["phone", 2]]);
    expect(c.unreadCount).toBe(3 + 2);
    expect(c.preview).toEqual({ senderUserId: "alice", text: "three" });
    expect((await pushContext(repo, { userId: "bob", conversationId: d.id, seq: 4, deviceIds: [], withPreview: true })).preview).toBeUndefined();
    expect((await pushContext(repo, { userId: "bob", conversationId: d.id, seq: 3, deviceIds: [], withPreview: false })).preview).toBeUndefined();
    // Someone outside the conversation gets no text.
    expect((await pushContext(repo, { userId: "carol", conversationId: d.id, seq: 3, deviceIds: [], withPreview: true })).preview).toBeUndefined();
  });
});
