// Measures what a sync page and an inbox page cost for a user with many conversations, on
// the SQLite adapter (not a test: it prints figures for the README).
//
//   node --import tsx services/store/test/measure-sync-inbox.ts [conversations=1000]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { listInbox } from "../src/domain/list-inbox.js";
import { syncDevice, type SyncCursor } from "../src/domain/sync.js";
import { openSqliteHistoryRepository } from "../src/storage/sqlite-history-repository.js";

const conversations = Number(process.argv[2] ?? 1_000);
const groups = Math.floor(conversations / 10);
const dir = mkdtempSync(join(tmpdir(), "messenger-measure-"));
const repo = openSqliteHistoryRepository(join(dir, "history.db"));
const keepAlive = setInterval(() => {}, 1_000);
let now = 1;
const text = (i: number) => ({ kind: "text" as const, text: `message ${i}` });

const ids: string[] = [];
await Promise.all(
  Array.from({ length: conversations - groups }, async (_, i) => {
    const c = await repo.openDirect("alice", `peer${i}`, now++, false);
    ids.push(c.id);
  }),
);
await Promise.all(
  Array.from({ length: groups }, async (_, i) => {
    const id = `group${i}`;
    await repo.applyGroupChange({ conversationId: id, actorUserId: `owner${i}`, expectedMemberVersion: 0, change: { kind: "create", title: id, description: "", memberUserIds: ["alice", ...Array.from({ length: 8 }, (_, j) => `m${i}-${j}`)] }, now: now++ });
    ids.push(id);
  }),
);
// Three messages in every conversation, from the other side.
for (let round = 0; round < 3; round++) {
  await Promise.all(
    ids.map((id, i) =>
      repo.append([{ conversationId: id, senderUserId: id.startsWith("group") ? `owner${id.slice(5)}` : `peer${i}`, senderDeviceId: "d", clientMessageId: `r${round}`, body: text(round), replyToSeq: 0, clientSentAt: undefined, now: now++ }]),
    ),
  );
}

async function time<T>(label: string, fn: () => Promise<T>, runs = 7): Promise<T> {
  let result!: T;
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    result = await fn();
    samples.push(performance.now() - start);
  }
  samples.sort((a, b) => a - b);
  console.log(`${label}: median ${samples[Math.floor(runs / 2)]!.toFixed(1)} ms (min ${samples[0]!.toFixed(1)}, max ${samples.at(-1)!.toFixed(1)})`);
  return result;
}

const sync = (cursors: Map<string, SyncCursor>, pageToken = "") =>
  syncDevice(repo, { userId: "alice", deviceId: "phone", cursors, maxMessages: 500, maxReplayPerConversation: 1_000, pageToken, largeGroupThreshold: 256 });
const fullSync = async (cursors: Map<string, SyncCursor>) => {
  let token = "";
  let pages = 0;
  let messages = 0;
  do {
    const page = await sync(cursors, token);
    pages++;
    messages += page.conversations.reduce((n, c) => n + c.messages.length, 0);
    token = page.nextPageToken;
  } while (token);
  return { pages, messages };
};

console.log(`user with ${conversations} conversations (${conversations - groups} direct, ${groups} groups of 10), 3 messages each`);
const cold = await time("sync, new device (replays everything), whole sync", () => fullSync(new Map()), 3);
console.log(`  -> ${cold.pages} pages, ${cold.messages} messages`);
const upToDate = new Map<string, SyncCursor>();
for (let token = "", first = true; first || token; first = false) {
  const page = await sync(new Map(), token);
  for (const c of page.conversations) upToDate.set(c.conversationId, { seq: c.lastSeq, receiptsVersion: c.receiptsVersion });
  token = page.nextPageToken;
}
const warm = await time("sync, device up to date (every conversation unchanged), whole sync", () => fullSync(upToDate));
console.log(`  -> ${warm.pages} pages, ${warm.messages} messages`);
await time("sync, device up to date, one page (500 conversations)", () => sync(upToDate));
const oneChanged = new Map(upToDate);
oneChanged.set(ids[0]!, { seq: 0, receiptsVersion: 0 });
await time("sync, one conversation changed, whole sync", () => fullSync(oneChanged));
await time("inbox, first page of 50", () => listInbox(repo, "alice", "inbox", 50, "", 256));

clearInterval(keepAlive);
await repo.close();
rmSync(dir, { recursive: true, force: true });
