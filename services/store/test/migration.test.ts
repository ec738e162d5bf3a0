import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { listInbox } from "../src/domain/list-inbox.js";
import { syncDevice } from "../src/domain/sync.js";
import { directConversationId } from "../src/storage/direct-conversation-id.js";
import { openSqliteHistoryRepository } from "../src/storage/sqlite-history-repository.js";
import { migrate, migrations, schemaVersion } from "../src/storage/sqlite-migrations.js";

const dir = mkdtempSync(join(tmpdir(), "messenger-migration-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A copy of the file the v1 store wrote (test/fixtures/make-history-v1.ts made it). */
function v1Copy(): string {
  const path = join(dir, `history-${Math.random().toString(36).slice(2)}.db`);
  copyFileSync(new URL("./fixtures/history-v1.db", import.meta.url), path);
  return path;
}

const ab = directConversationId("alice", "bob");
const ac = directConversationId("alice", "carol");
const de = directConversationId("dave", "erin");
const sync = (repo: ReturnType<typeof openSqliteHistoryRepository>, userId: string, deviceId: string) =>
  syncDevice(repo, { userId, deviceId, cursors: new Map(), maxMessages: 500, maxReplayPerConversation: 1000, pageToken: "", largeGroupThreshold: 256 });

describe("migration from the v1 schema", () => {
  it("treats a v1 file (tables, user_version 0) as version 1 and brings it to the newest schema", () => {
    const path = v1Copy();
    const raw = new Database(path);
    expect(raw.pragma("user_version", { simple: true })).toBe(0);
    expect(migrate(raw)).toEqual({ from: 0, to: schemaVersion });
    const tables = raw.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all().map((t) => t.name);
    expect(tables).toEqual(["archive_garbage", "archive_segments", "conversations", "device_cursors", "direct_relations", "member_ranges", "members", "message_media", "messages", "push_outbox", "user_conversations"]);
    expect(migrate(raw)).toEqual({ from: schemaVersion, to: schemaVersion });
    raw.close();
  });

  it("keeps every message, receipt and device cursor, and serves the inbox and sync from them", async () => {
    const path = v1Copy();
    const repo = openSqliteHistoryRepository(path);
    expect(await repo.getConversation(ab)).toMatchObject({ kind: "direct", lastSeq: 4, lastActivityAt: 2004, createdAt: 1000, memberCount: 2, memberVersion: 1, minSeq: 0, receiptsVersion: 1, retention: { mode: "permanent", ttlSeconds: 0 } });
    expect(await repo.getConversation(de)).toMatchObject({ kind: "direct", lastSeq: 0, memberCount: 2, receiptsVersion: 0 });
    const messages = await repo.listMessages(ab, { limit: 10, direction: "forward" });
    expect(messages.map((m) => [m.seq, m.senderUserId, m.senderDeviceId, m.clientMessageId, m.body, m.sentAt, m.replyToSeq, m.clientSentAt])).toEqual([
      [1, "bob", "laptop", "b1", { kind: "text", text: "hi alice" }, 2001, 0, undefined],
      [2, "alice", "phone", "a1", { kind: "text", text: "hi bob" }, 2002, 0, undefined],
      [3, "alice", "phone", "a2", { kind: "text", text: "how are you?" }, 2003, 0, undefined],
      [4, "alice", "phone", "a3", { kind: "text", text: "unicode ✓ ünïcödé 🎉" }, 2004, 0, undefined],
    ]);
    expect((await repo.listMessages(ac, { limit: 10, direction: "forward" })).map((m) => m.body)).toEqual([{ kind: "text", text: "lunch?" }]);
    expect(await repo.receipts(ab)).toEqual([
      { userId: "alice", deliveredSeq: 4, readSeq: 4 },
      { userId: "bob", deliveredSeq: 4, readSeq: 3 },
    ]);
    expect(await repo.receipts(ac)).toEqual([
      { userId: "alice", deliveredSeq: 1, readSeq: 0 },
      { userId: "carol", deliveredSeq: 1, readSeq: 1 },
    ]);
    expect([...(await repo.deviceCursors("bob", "phone", [ab, ac]))]).toEqual([[ab, { deliveredSeq: 4, readSeq: 3 }]]);
    expect([...(await repo.deviceCursors("alice", "tablet", [ab]))]).toEqual([[ab, { deliveredSeq: 1, readSeq: 1 }]]);
    expect([...(await repo.deviceCursors("alice", "phone", [ab, ac]))]).toEqual([[ac, { deliveredSeq: 1, readSeq: 0 }]]);
    for (const id of [ab, ac, de]) {
      expect((await repo.memberRanges(id)).map((r) => [r.fromSeq, r.toSeq])).toEqual([[1, undefined], [1, undefined]]);
    }

    const inbox = await listInbox(repo, "alice", "inbox", 10, "", 256);
    expect(inbox.items.map((i) => [i.conversation.id, i.unreadCount, i.lastMessage?.clientMessageId, i.memberUserIds])).toEqual([
      [ac, 1, "c1", ["alice", "carol"]],
      [ab, 0, "a3", ["alice", "bob"]],
    ]);
    expect((await listInbox(repo, "dave", "inbox", 10, "", 256)).items.map((i) => [i.conversation.id, i.lastMessage])).toEqual([[de, undefined]]);

    // bob's phone resumes from its kept watermark (4): nothing to replay, but it has not seen the receipts.
    const phone = (await sync(repo, "bob", "phone")).conversations;
    expect(phone).toHaveLength(1);
    expect(phone[0]).toMatchObject({ conversationId: ab, lastSeq: 4, messages: [], unchanged: false, receiptsVersion: 1 });
    expect(phone[0]!.receipts).toHaveLength(2);
    const laptop = (await sync(repo, "bob", "laptop")).conversations;
    expect(laptop[0]!.messages.map((m) => m.clientMessageId)).toEqual(["b1", "a1", "a2", "a3"]);

    // And it goes on: the pair's conversation is found again, and seqs continue.
    expect((await repo.openDirect("bob", "alice", 9_000, false)).id).toBe(ab);
    const [next] = await repo.append([{ conversationId: ab, senderUserId: "bob", senderDeviceId: "phone", clientMessageId: "b2", body: { kind: "text", text: "new" }, replyToSeq: 4, clientSentAt: undefined, now: 9_001 }]);
    expect(next).toMatchObject({ ok: true, message: { seq: 5 } });
    const [dup] = await repo.append([{ conversationId: ab, senderUserId: "alice", senderDeviceId: "phone", clientMessageId: "a1", body: { kind: "text", text: "again" }, replyToSeq: 0, clientSentAt: undefined, now: 9_002 }]);
    expect(dup).toMatchObject({ ok: true, duplicate: true, message: { seq: 2 } });
    // v1 conversations sit in both users' inboxes, unblocked, and the pair can be blocked.
    expect(await repo.userConversation("bob", ab)).toMatchObject({ request: false, hiddenSeq: 0, conversation: { blocked: false } });
    await repo.setDirectRelation("alice", "bob", true, false);
    const [blocked] = await repo.append([{ conversationId: ab, senderUserId: "bob", senderDeviceId: "phone", clientMessageId: "b3", body: { kind: "text", text: "blocked" }, replyToSeq: 0, clientSentAt: undefined, now: 9_003 }]);
    expect(blocked).toMatchObject({ ok: false, refused: true, kind: "permission_denied" });
    await repo.close();

    // A second open is a no-op.
    const raw = new Database(path);
    const dump = () => raw.prepare("SELECT name, sql FROM sqlite_master ORDER BY name").all();
    const before = dump();
    expect(migrate(raw)).toEqual({ from: schemaVersion, to: schemaVersion });
    expect(dump()).toEqual(before);
    raw.close();
    const again = openSqliteHistoryRepository(path);
    expect((await again.listMessages(ab, { limit: 10, direction: "forward" })).map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
    await again.close();
  });

  it("runs every migration on a fresh file", () => {
    // Versions are 1, 2, ... in order, and a fresh file ends at the last one.
    const versions = migrations.map((m) => m.version);
    expect(versions).toEqual(versions.map((_, i) => i + 1));
    const raw = new Database(join(dir, "fresh.db"));
    expect(migrate(raw)).toEqual({ from: 0, to: versions.at(-1) });
    expect(raw.pragma("user_version", { simple: true })).toBe(versions.at(-1));
    expect(schemaVersion).toBe(versions.at(-1));
    expect(raw.prepare("SELECT name FROM sqlite_master WHERE name = 'counters'").get()).toBeUndefined();
    raw.close();
  });

  it("refuses a file from a newer version instead of guessing", () => {
    const raw = new Database(join(dir, "future.db"));
    raw.pragma(`user_version = ${schemaVersion + 1}`);
    expect(() => migrate(raw)).toThrow(/newer/);
    raw.close();
  });
});
