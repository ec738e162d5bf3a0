import { afterAll, describe, expect, it } from "vitest";
import { scenario, tempRepos } from "../../test/temp-repo.js";
import type { HistoryRepository } from "../storage/history-repository.js";
import { limits } from "./limits.js";
import { syncDevice, type SyncCursor, type SyncRequestInput } from "./sync.js";

const repos = tempRepos("sync");
afterAll(() => repos.cleanup());

const sync = (repo: HistoryRepository, over: Partial<SyncRequestInput> & { userId: string }) =>
  syncDevice(repo, { deviceId: "phone", cursors: new Map(), maxMessages: 500, maxReplayPerConversation: 1000, pageToken: "", largeGroupThreshold: 3, ...over });

describe("syncDevice", () => {
  it("returns every conversation's head, in conversation id order, and only what the device misses", async () => {
    const repo = repos.open();
    const s = scenario(repo);
    const ab = await repo.openDirect("alice", "bob", 1, false);
    await s.group("g1", "alice", ["bob"]);
    await s.send(ab.id, "bob");
    await s.send(ab.id, "bob");
    await s.send("g1", "bob");
    const first = await sync(repo, { userId: "alice" });
    expect(first.nextPageToken).toBe("");
    const ids = first.conversations.map((c) => c.conversationId);
    expect(ids).toEqual([ab.id, "g1"].sort());
    const dm = first.conversations.find((c) => c.conversationId === ab.id)!;
    expect(dm).toMatchObject({ lastSeq: 2, unchanged: false, reset: false, large: false });
    expect(dm.messages.map((m) => m.seq)).toEqual([1, 2]);
    const cursors = new Map<string, SyncCursor>(first.conversations.map((c) => [c.conversationId, { seq: c.lastSeq, receiptsVersion: c.receiptsVersion }]));
    const again = await sync(repo, { userId: "alice", cursors });
    expect(again.conversations.map((c) => [c.conversationId, c.unchanged, c.messages.length])).toEqual(ids.map((id) => [id, true, 0]));
    // A receipt move alone makes the conversation changed, with receipts and summary but no messages.
    const moved = await repo.updateCursor(ab.id, "alice", "laptop", 2, 1);
    const third = await sync(repo, { userId: "alice", cursors });
    const dm3 = third.conversations.find((c) => c.conversationId === ab.id)!;
    expect(dm3).toMatchObject({ unchanged: false, messages: [], receiptsVersion: moved.receiptsVersion, summary: { memberCount: 2, deliveredAllSeq: 2, readAllSeq: 1 } });
    expect(dm3.receipts).toEqual([
      { userId: "alice", deliveredSeq: 2, readSeq: 1 },
      { userId: "bob", deliveredSeq: 2, readSeq: 2 },
    ]);
    expect(third.conversations.find((c) => c.conversationId === "g1")!.unchanged).toBe(true);
  });

  it("resumes from the device's server-kept delivered watermark when it sends no cursor", async () => {
    const repo = repos.open();
    const s = scenario(repo);
    const ab = await repo.openDirect("alice", "bob", 1, false);
    for (let i = 0; i < 4; i++) await s.send(ab.id, "bob");
    await repo.updateCursor(ab.id, "alice", "phone", 3, 1);
    const [c] = (await sync(repo, { userId: "alice" })).conversations;
    expect(c!.messages.map((m) => m.seq)).toEqual([4]);
    const [other] = (await sync(repo, { userId: "alice", deviceId: "laptop" })).conversations;
    expect(other!.messages.map((m) => m.seq)).toEqual([1, 2, 3, 4]);
  });

  it("resets a conversation with more missed messages than the replay bound", async () => {
    const repo = repos.open();
    const s = scenario(repo);
    const ab = await repo.openDirect("alice", "bob", 1, false);
    for (let i = 0; i < 5; i++) await s.send(ab.id, "bob");
    const [c] = (await sync(repo, { userId: "alice", maxReplayPerConversation: 4 })).conversations;
    expect(c).toMatchObject({ reset: true, messages: [], lastSeq: 5 });
  });

  it("gives a large group only its head and summary: no messages, no per-member receipts", async () => {
    const repo = repos.open();
    const s = scenario(repo);
    await s.group("big", "alice", ["bob", "carol", "dave"]);
    await s.send("big", "bob");
    await repo.updateCursor("big", "carol", "phone", 2, 2);
    const [c] = (await sync(repo, { userId: "alice" })).conversations;
    expect(c).toMatchObject({ conversationId: "big", large: true, lastSeq: 2, messages: [], receipts: [], unchanged: false, summary: { memberCount: 4 } });
    const [small] = (await sync(repo, { userId: "alice", largeGroupThreshold: 4 })).conversations;
    expect(small!.messages.map((m) => m.seq)).toEqual([1, 2]);
    expect(small!.receipts).toHaveLength(4);
  });

  it("stops a page once max_messages are in it (always at least one conversation) and pages on with the token", async () => {
    const repo = repos.open();
    const s = scenario(repo);
    const convs = [];
    for (const peer of ["b", "c", "d", "e"]) {
      const conv = await repo.openDirect("alice", peer, 1, false);
      for (let i = 0; i < 3; i++) await s.send(conv.id, peer);
      convs.push(conv.id);
    }
    convs.sort();
    const seen: string[] = [];
    let token = "";
    const pages: number[] = [];
    do {
      const page = await sync(repo, { userId: "alice", maxMessages: 2, pageToken: token });
      pages.push(page.conversations.length);
      seen.push(...page.conversations.map((c) => c.conversationId));
      token = page.nextPageToken;
    } while (token);
    expect(seen).toEqual(convs);
    expect(pages).toEqual([1, 1, 1, 1]);
    await expect(sync(repo, { userId: "alice", pageToken: "garbage" })).rejects.toMatchObject({ kind: "invalid_argument" });
  });

  it("pages a user with more conversations than one page holds", async () => {
    const repo = repos.open();
    const n = limits.syncConversationsPerPage + 5;
    for (let i = 0; i < n; i++) await repo.openDirect("alice", `peer${i}`, 1, false);
    const first = await sync(repo, { userId: "alice" });
    expect(first.conversations).toHaveLength(limits.syncConversationsPerPage);
    expect(first.conversations.every((c) => c.unchanged)).toBe(true);
    const second = await sync(repo, { userId: "alice", pageToken: first.nextPageToken });
    expect(second.conversations).toHaveLength(5);
    expect(second.nextPageToken).toBe("");
  });
});
