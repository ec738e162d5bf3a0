import { afterAll, describe, expect, it } from "vitest";
import { scenario, tempRepos } from "../../test/temp-repo.js";
import { appendMessages } from "./append-messages.js";
import { listMessages } from "./list-messages.js";
import { readMessages } from "./read-messages.js";
import { syncDevice } from "./sync.js";

const repos = tempRepos("ranges");
afterAll(() => repos.cleanup());

const seqs = (ms: { seq: number }[]) => ms.map((m) => m.seq);
const sync = (repo: Parameters<typeof syncDevice>[0], userId: string, cursors = new Map<string, { seq: number; receiptsVersion: number }>()) =>
  syncDevice(repo, { userId, deviceId: "phone", cursors, maxMessages: 500, maxReplayPerConversation: 1000, pageToken: "", largeGroupThreshold: 256 });

/**
 * g: 1 created (owner, bob, carol) · 2,3 messages · 4 bob removed · 5,6 messages ·
 * 7 bob re-added · 8,9 messages.
 */
async function groupWithGap() {
  const repo = repos.open();
  const s = scenario(repo);
  await s.group("g", "owner", ["bob", "carol"]);
  await s.send("g", "owner");
  await s.send("g", "carol");
  await s.change("g", "owner", { kind: "removeMember", userId: "bob" });
  await s.send("g", "owner");
  await s.send("g", "carol");
  return { repo, s };
}

describe("membership ranges", () => {
  it("shows a removed member nothing after the message that removed them, through every read path", async () => {
    const { repo } = await groupWithGap();
    const page = await listMessages(repo, "bob", { conversationId: "g", anchorSeq: 0, direction: "backward", pageSize: 50 });
    expect(seqs(page.messages)).toEqual([1, 2, 3, 4]);
    expect(page).toMatchObject({ lastSeq: 4, hasMore: false });
    expect(seqs((await listMessages(repo, "bob", { conversationId: "g", anchorSeq: 3, direction: "forward", pageSize: 50 })).messages)).toEqual([4]);
    expect(seqs((await readMessages(repo, { userId: "bob", conversationId: "g", afterSeq: 0, beforeSeq: 0, limit: 100 })).messages)).toEqual([1, 2, 3, 4]);
    expect(await readMessages(repo, { userId: "bob", conversationId: "g", afterSeq: 4, beforeSeq: 0, limit: 100 })).toEqual({ messages: [], lastSeq: 4 });
    const [synced] = (await sync(repo, "bob")).conversations;
    expect(synced).toMatchObject({ conversationId: "g", lastSeq: 4, reset: false });
    expect(seqs(synced!.messages)).toEqual([1, 2, 3, 4]);
    expect(synced!.receipts).toEqual([]);
    const [again] = (await sync(repo, "bob", new Map([["g", { seq: 4, receiptsVersion: 0 }]]))).conversations;
    expect(again).toMatchObject({ unchanged: true, lastSeq: 4 });
  });

  it("refuses a removed member's send with PERMISSION_DENIED", async () => {
    const { repo } = await groupWithGap();
    const [r] = await appendMessages(repo, [{ conversationId: "g", clientMessageId: "late", body: { kind: "text", text: "still here?" }, replyToSeq: 0, clientSentAt: undefined, senderUserId: "bob", senderDeviceId: "phone" }], 1);
    expect(r!.ok ? "stored" : r!.error.kind).toBe("permission_denied");
  });

  it("shows a re-added member their old range and the new one, never the gap", async () => {
    const { repo, s } = await groupWithGap();
    await s.change("g", "owner", { kind: "addMembers", userIds: ["bob"] });
    await s.send("g", "owner");
    await s.send("g", "bob");
    const all = await listMessages(repo, "bob", { conversationId: "g", anchorSeq: 0, direction: "forward", pageSize: 50 });
    expect(seqs(all.messages)).toEqual([1, 2, 3, 4, 7, 8, 9]);
    expect(all).toMatchObject({ lastSeq: 9, hasMore: false });
    expect(seqs((await readMessages(repo, { userId: "bob", conversationId: "g", afterSeq: 3, beforeSeq: 9, limit: 100 })).messages)).toEqual([4, 7, 8]);
    const [synced] = (await sync(repo, "bob", new Map([["g", { seq: 4, receiptsVersion: 0 }]]))).conversations;
    expect(seqs(synced!.messages)).toEqual([7, 8, 9]);
    // A member added later sees nothing before the message that added them.
    await s.change("g", "owner", { kind: "addMembers", userIds: ["dave"] });
    expect(seqs((await listMessages(repo, "dave", { conversationId: "g", anchorSeq: 0, direction: "backward", pageSize: 50 })).messages)).toEqual([10]);
  });

  it("pages history both ways over the gap with has_more counting only visible messages", async () => {
    const { repo, s } = await groupWithGap();
    await s.change("g", "owner", { kind: "addMembers", userIds: ["bob"] });
    await s.send("g", "owner");
    await s.send("g", "owner");
    const page = (anchorSeq: number, direction: "forward" | "backward", pageSize: number) => listMessages(repo, "bob", { conversationId: "g", anchorSeq, direction, pageSize });
    const newest = await page(0, "backward", 3);
    expect([seqs(newest.messages), newest.hasMore]).toEqual([[7, 8, 9], true]);
    const older = await page(7, "backward", 3);
    expect([seqs(older.messages), older.hasMore]).toEqual([[2, 3, 4], true]);
    const oldest = await page(2, "backward", 3);
    expect([seqs(oldest.messages), oldest.hasMore]).toEqual([[1], false]);
    const first = await page(0, "forward", 4);
    expect([seqs(first.messages), first.hasMore]).toEqual([[1, 2, 3, 4], true]);
    const next = await page(4, "forward", 2);
    expect([seqs(next.messages), next.hasMore]).toEqual([[7, 8], true]);
    const last = await page(8, "forward", 5);
    expect([seqs(last.messages), last.hasMore]).toEqual([[9], false]);
    // Exactly at the end of the old range: the next visible ones are after the gap.
    const edge = await page(4, "backward", 1);
    expect([seqs(edge.messages), edge.hasMore]).toEqual([[3], true]);
  });

  it("refuses a user who never was a member with PERMISSION_DENIED and an unknown conversation with NOT_FOUND", async () => {
    const { repo } = await groupWithGap();
    await expect(listMessages(repo, "zed", { conversationId: "g", anchorSeq: 0, direction: "backward", pageSize: 10 })).rejects.toMatchObject({ kind: "permission_denied" });
    await expect(readMessages(repo, { userId: "zed", conversationId: "g", afterSeq: 0, beforeSeq: 0, limit: 10 })).rejects.toMatchObject({ kind: "permission_denied" });
    await expect(readMessages(repo, { userId: "bob", conversationId: "nope", afterSeq: 0, beforeSeq: 0, limit: 10 })).rejects.toMatchObject({ kind: "not_found" });
  });
});
