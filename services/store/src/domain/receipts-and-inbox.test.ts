import { afterAll, describe, expect, it } from "vitest";
import { scenario, tempRepos } from "../../test/temp-repo.js";
import { getConversation } from "./get-conversation.js";
import { listInbox } from "./list-inbox.js";
import { listReadBy } from "./list-read-by.js";
import { updateCursor } from "./update-cursor.js";

const repos = tempRepos("receipts");
afterAll(() => repos.cleanup());

describe("receipts", () => {
  it("keeps the summary as the minimum over current members and counts readers without the sender", async () => {
    const repo = repos.open();
    const s = scenario(repo);
    await s.group("g", "owner", ["bob", "carol", "dave"]);
    await s.send("g", "bob");
    const carol = await updateCursor(repo, { conversationId: "g", userId: "carol", deviceId: "phone", deliveredSeq: 2, readSeq: 2 });
    expect(carol).toMatchObject({ changed: true, summary: { memberCount: 4, deliveredAllSeq: 0, readAllSeq: 0 } });
    await updateCursor(repo, { conversationId: "g", userId: "owner", deviceId: "phone", deliveredSeq: 2, readSeq: 2 });
    const dave = await updateCursor(repo, { conversationId: "g", userId: "dave", deviceId: "phone", deliveredSeq: 2, readSeq: 1 });
    // bob sent seq 2, so he has read it; every member now has seq 2, and seq 1 is read by all.
    expect(dave.summary).toEqual({ memberCount: 4, deliveredAllSeq: 2, readAllSeq: 1 });
    expect(dave.receiptsVersion).toBe(3);

    const page = await listReadBy(repo, "owner", { conversationId: "g", seq: 2, pageSize: 1, pageToken: "" });
    expect(page).toMatchObject({ userIds: ["carol"], readCount: 2, memberCount: 3 });
    const next = await listReadBy(repo, "owner", { conversationId: "g", seq: 2, pageSize: 1, pageToken: page.nextPageToken });
    expect(next).toMatchObject({ userIds: ["owner"], readCount: 2, memberCount: 3, nextPageToken: "" });

    // A removed member leaves the summary and the counts.
    await s.change("g", "owner", { kind: "removeMember", userId: "dave" });
    expect(await repo.receiptSummary("g")).toEqual({ memberCount: 3, deliveredAllSeq: 2, readAllSeq: 2 });
    await expect(listReadBy(repo, "dave", { conversationId: "g", seq: 2, pageSize: 10, pageToken: "" })).rejects.toMatchObject({ kind: "permission_denied" });
    await expect(listReadBy(repo, "zed", { conversationId: "g", seq: 2, pageSize: 10, pageToken: "" })).rejects.toMatchObject({ kind: "permission_denied" });
    await s.change("g", "owner", { kind: "addMembers", userIds: ["erin"] });
    await expect(listReadBy(repo, "erin", { conversationId: "g", seq: 2, pageSize: 10, pageToken: "" })).rejects.toMatchObject({ kind: "permission_denied" });
    expect((await listReadBy(repo, "erin", { conversationId: "g", seq: 4, pageSize: 10, pageToken: "" })).memberCount).toBe(3);
  });
});

describe("listInbox", () => {
  it("orders by the activity the user may see, with unread counts, last messages, receipts only where they belong", async () => {
    const repo = repos.open();
    const s = scenario(repo);
    const ab = await repo.openDirect("alice", "bob", 1, false);
    await s.send(ab.id, "bob", "dm 1");
    await s.group("left", "owner", ["alice"], "left group");
    await s.send("left", "owner");
    await s.change("left", "alice", { kind: "leave" });
    await s.group("small", "alice", ["bob"], "small");
    await s.group("big", "owner", ["alice", "bob", "carol"], "big");
    await s.send("big", "bob", "big news");
    await s.send("left", "owner", "after alice left");
    await s.send(ab.id, "bob", "dm 2");
    await updateCursor(repo, { conversationId: ab.id, userId: "alice", deviceId: "phone", deliveredSeq: 2, readSeq: 1 });

    const page = await listInbox(repo, "alice", "inbox", 50, "", 3);
    expect(page.items.map((i) => i.conversation.id)).toEqual([ab.id, "big", "small", "left"]);
    const [dm, big, small, left] = page.items;
    expect(dm).toMatchObject({ memberUserIds: ["alice", "bob"], lastSeq: 2, unreadCount: 1, large: false, lastMessage: { body: { kind: "text", text: "dm 2" } } });
    expect(dm!.receipts).toHaveLength(2);
    expect(big).toMatchObject({ memberUserIds: [], large: true, receipts: [], lastSeq: 2, unreadCount: 2, lastMessage: { body: { text: "big news" } }, summary: { memberCount: 4 } });
    expect(small).toMatchObject({ memberUserIds: [], large: false, lastSeq: 1, member: { role: "owner", active: true } });
    expect(small!.receipts).toHaveLength(2);
    // A former member sees the group as of the message that ended their membership.
    expect(left).toMatchObject({ lastSeq: 3, member: { active: false, role: undefined }, receipts: [], summary: undefined, lastMessage: { seq: 3, body: { kind: "system" } } });

    const first = await listInbox(repo, "alice", "inbox", 2, "", 3);
    expect(first.items.map((i) => i.conversation.id)).toEqual([ab.id, "big"]);
    const second = await listInbox(repo, "alice", "inbox", 2, first.nextPageToken, 3);
    expect(second.items.map((i) => i.conversation.id)).toEqual(["small", "left"]);
    expect(second.nextPageToken).toBe("");
    await expect(listInbox(repo, "alice", "inbox", 2, "nope", 3)).rejects.toMatchObject({ kind: "invalid_argument" });
  });

  it("shows one conversation to a member and refuses strangers", async () => {
    const repo = repos.open();
    const s = scenario(repo);
    await s.group("g", "owner", ["bob"], "title");
    const view = await getConversation(repo, "bob", "g", 256);
    expect(view).toMatchObject({ conversation: { kind: "group", title: "title", memberCount: 2 }, member: { role: "member", active: true }, lastSeq: 1, unreadCount: 1 });
    await expect(getConversation(repo, "zed", "g", 256)).rejects.toMatchObject({ kind: "permission_denied" });
    await expect(getConversation(repo, "bob", "nope", 256)).rejects.toMatchObject({ kind: "not_found" });
  });
});
