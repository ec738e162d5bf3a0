import { afterAll, describe, expect, it } from "vitest";
import { scenario, tempRepos } from "../../test/temp-repo.js";
import type { HistoryRepository } from "../storage/history-repository.js";
import { appendMessages } from "./append-messages.js";
import { getConversation } from "./get-conversation.js";
import { listInbox, type Folder } from "./list-inbox.js";
import { acceptMessageRequest, deleteMessageRequest } from "./message-requests.js";
import { openDirectConversation } from "./open-direct-conversation.js";
import { setDirectRelation } from "./set-direct-relation.js";

const repos = tempRepos("requests");
afterAll(() => repos.cleanup());

const ids = async (repo: HistoryRepository, userId: string, folder: Folder) => (await listInbox(repo, userId, folder, 50, "", 256)).items.map((i) => i.conversation.id);
/** alice opens a conversation with bob, a non-contact who keeps requests apart. */
const open = (repo: HistoryRepository) => openDirectConversation(repo, "alice", "bob", 1, true, 256);

describe("message requests", () => {
  it("puts a conversation a non-contact opens in the opener's inbox, and in the peer's requests once it holds a message", async () => {
    const repo = repos.open();
    const s = scenario(repo);
    const opened = await open(repo);
    expect(opened.request).toBe(false);
    const id = opened.conversation.id;
    expect(await ids(repo, "alice", "inbox")).toEqual([id]);
    expect(await ids(repo, "alice", "requests")).toEqual([]);
    // Empty: nowhere for bob yet.
    expect(await ids(repo, "bob", "inbox")).toEqual([]);
    expect(await ids(repo, "bob", "requests")).toEqual([]);
    await s.send(id, "alice", "hello?");
    const requests = await listInbox(repo, "bob", "requests", 50, "", 256);
    expect(requests.items).toMatchObject([{ conversation: { id }, request: true, unreadCount: 1, lastMessage: { body: { text: "hello?" } } }]);
    expect(await ids(repo, "bob", "inbox")).toEqual([]);
    expect(await getConversation(repo, "bob", id, 256)).toMatchObject({ request: true });
    // Opening it from bob's side changes no folder.
    expect(await openDirectConversation(repo, "bob", "alice", 2, false, 256)).toMatchObject({ request: true, conversation: { id } });
    expect(await ids(repo, "bob", "requests")).toEqual([id]);
  });

  it("accepts a request into the inbox; deletes one until the peer writes again; refuses to delete an inbox conversation", async () => {
    const repo = repos.open();
    const s = scenario(repo);
    const id = (await open(repo)).conversation.id;
    await s.send(id, "alice");
    await expect(deleteMessageRequest(repo, "alice", id)).rejects.toMatchObject({ kind: "failed_precondition" });
    await deleteMessageRequest(repo, "bob", id);
    expect(await ids(repo, "bob", "requests")).toEqual([]);
    expect(await ids(repo, "bob", "inbox")).toEqual([]);
    await s.send(id, "alice", "me again");
    expect(await ids(repo, "bob", "requests")).toEqual([id]);
    const accepted = await acceptMessageRequest(repo, "bob", id, 256);
    expect(accepted).toMatchObject({ request: false, lastSeq: 2, conversation: { id } });
    expect(await ids(repo, "bob", "inbox")).toEqual([id]);
    expect(await ids(repo, "bob", "requests")).toEqual([]);
    // Accepting again leaves it in the inbox; it is no request to delete any more.
    expect(await acceptMessageRequest(repo, "bob", id, 256)).toMatchObject({ request: false });
    await expect(deleteMessageRequest(repo, "bob", id)).rejects.toMatchObject({ kind: "failed_precondition" });
    await expect(acceptMessageRequest(repo, "carol", id, 256)).rejects.toMatchObject({ kind: "not_found" });
    await expect(deleteMessageRequest(repo, "carol", "nope")).rejects.toMatchObject({ kind: "not_found" });
  });

  it("brings a deleted request back with the caller's own next message, still a request: a reply accepts nothing", async () => {
    const repo = repos.open();
    const s = scenario(repo);
    const id = (await open(repo)).conversation.id;
    await s.send(id, "alice");
    await deleteMessageRequest(repo, "bob", id);
    expect(await ids(repo, "bob", "requests")).toEqual([]);
    await s.send(id, "bob", "who is this?");
    expect(await ids(repo, "bob", "requests")).toEqual([id]);
    expect(await ids(repo, "bob", "inbox")).toEqual([]);
  });

  it("moves the conversation to both inboxes when the two become contacts", async () => {
    const repo = repos.open();
    const s = scenario(repo);
    const id = (await open(repo)).conversation.id;
    await s.send(id, "alice");
    await setDirectRelation(repo, { userId: "bob", peerUserId: "alice", blocking: false, contact: true });
    expect(await ids(repo, "bob", "inbox")).toEqual([id]);
    expect(await ids(repo, "bob", "requests")).toEqual([]);
    expect(await ids(repo, "alice", "inbox")).toEqual([id]);
    await expect(setDirectRelation(repo, { userId: "bob", peerUserId: "bob", blocking: true, contact: false })).rejects.toMatchObject({ kind: "invalid_argument" });
    await expect(setDirectRelation(repo, { userId: "", peerUserId: "bob", blocking: true, contact: false })).rejects.toMatchObject({ kind: "invalid_argument" });
  });
});

describe("blocks", () => {
  it("refuses the blocked user's open and both users' sends, storing nothing", async () => {
    const repo = repos.open();
    await setDirectRelation(repo, { userId: "alice", peerUserId: "bob", blocking: true, contact: false });
    await expect(openDirectConversation(repo, "bob", "alice", 1, false, 256)).rejects.toMatchObject({ kind: "permission_denied" });
    const view = await openDirectConversation(repo, "alice", "bob", 2, false, 256);
    const send = (sender: string) => ({ conversationId: view.conversation.id, clientMessageId: `c-${sender}`, body: { kind: "text", text: "hi" } as const, replyToSeq: 0, clientSentAt: undefined, senderUserId: sender, senderDeviceId: "phone" });
    const out = await appendMessages(repo, [send("alice"), send("bob")], 3);
    expect(out.map((r) => (r.ok ? "stored" : r.error.kind))).toEqual(["permission_denied", "permission_denied"]);
    expect(await getConversation(repo, "alice", view.conversation.id, 256)).toMatchObject({ lastSeq: 0, lastMessage: undefined });
    await setDirectRelation(repo, { userId: "alice", peerUserId: "bob", blocking: false, contact: false });
    expect((await appendMessages(repo, [send("bob")], 4)).map((r) => r.ok && r.message.seq)).toEqual([1]);
  });
});
