import type { Message } from "@messenger/proto/chat/v1/types";
import { MemberRole } from "@messenger/proto/chat/v1/types";
import { eventually, spawnSystem, type SystemProcess } from "@messenger/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { MessengerClient, type MessengerClientOptions } from "./client.js";

const password = "correct horse battery";
/** Groups above this many members are large: small enough to make one in a test. */
const largeGroupThreshold = 4;

let sys: SystemProcess;
const clients: MessengerClient[] = [];
let counter = 0;

beforeAll(async () => {
  sys = await spawnSystem({
    LARGE_GROUP_THRESHOLD: String(largeGroupThreshold),
    CONVERSATION_UPDATE_WINDOW_MS: "50",
    LARGE_GROUP_RECEIPT_WINDOW_MS: "50",
  });
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

afterAll(async () => {
  await sys?.stop();
});

function client(opts: Partial<MessengerClientOptions> = {}): MessengerClient {
  const c = new MessengerClient({ url: sys.grpcUrl, deviceId: "phone", reconnectBaseMs: 50, reconnectMaxMs: 500, gapWaitMs: 100, ...opts });
  clients.push(c);
  return c;
}

/** A fresh registered and logged-in user (not connected yet). */
async function user(): Promise<MessengerClient & { name: string }> {
  const name = `sdk${process.pid}_${counter++}`;
  const c = client();
  await c.register(name, password);
  await c.login(name, password);
  return Object.assign(c, { name });
}

function collect(c: MessengerClient, conversationId: string): Message[] {
  const got: Message[] = [];
  c.on("message", (m) => {
    if (m.conversationId === conversationId) got.push(m);
  });
  return got;
}

const seqs = (ms: Message[]) => ms.map((m) => Number(m.seq));
const kinds = (ms: Message[]) => ms.map((m) => (m.body.case === "system" ? m.body.value.event.case : m.body.case));
const textOf = (m: Message) => (m.body.case === "text" ? m.body.value : undefined);

describe("MessengerClient on the conversation model v2", { timeout: 60_000 }, () => {
  it("sends ciphertext replies through the same outbox as text, keeping reply_to_seq and client_sent_at", async () => {
    const [alice, bob] = [await user(), await user()];
    await Promise.all([alice.connect(), bob.connect()]);
    const conv = await alice.openDirect(bob.user!.id);
    const bobGot = collect(bob, conv.id);
    const first = await alice.send(conv.id, "plain");
    const at = new Date("2026-01-02T03:04:05Z");
    const [second, again] = await Promise.all([
      alice.sendMessage(conv.id, { case: "ciphertext", value: { ciphertext: new Uint8Array([1, 2, 3]), algorithm: "test-v1", senderKeyId: "k1" } }, { replyToSeq: first.seq, clientSentAt: at, clientMessageId: "cipher-1" }),
      // The same client id while pending: one message, both callers get it.
      alice.sendMessage(conv.id, { case: "ciphertext", value: { ciphertext: new Uint8Array([9]) } }, { clientMessageId: "cipher-1" }),
    ]);
    expect(again.id).toBe(second.id);
    expect(second.seq).toBe(first.seq + 1n);
    await eventually(() => bobGot.length === 2, "bob gets both");
    const got = bobGot[1]!;
    expect(got.body.case).toBe("ciphertext");
    expect(got.body.case === "ciphertext" && [...got.body.value.ciphertext]).toEqual([1, 2, 3]);
    expect(got.replyToSeq).toBe(first.seq);
    expect(got.clientSentAt?.seconds).toBe(BigInt(at.getTime() / 1000));
  });

  it("wraps the GroupService: each change's system message is returned and emitted once, in seq order", async () => {
    const [alice, bob, carol] = [await user(), await user(), await user()];
    await Promise.all([alice.connect(), bob.connect()]);
    const conv = await alice.createGroup("Climbing", [bob.user!.id], "ropes and rocks");
    const aliceGot = collect(alice, conv.id);
    expect([conv.title, conv.memberCount, conv.role]).toEqual(["Climbing", 2, MemberRole.OWNER]);
    const added = await alice.addMembers(conv.id, [carol.user!.id]);
    const promoted = await alice.setMemberRole(conv.id, bob.user!.id, MemberRole.ADMIN);
    const renamed = await alice.updateGroupInfo(conv.id, "Bouldering");
    const handed = await alice.transferOwnership(conv.id, bob.user!.id);
    const removed = await bob.removeMember(conv.id, carol.user!.id);
    const left = await alice.leaveGroup(conv.id);
    expect(kinds([added, promoted, renamed, handed, removed, left])).toEqual(["membersAdded", "roleChanged", "infoChanged", "ownershipTransferred", "memberRemoved", "memberLeft"]);
    // The description was kept.
    expect(renamed.body.case === "system" && renamed.body.value.event.case === "infoChanged" && renamed.body.value.event.value.description).toBe("ropes and rocks");
    await eventually(() => aliceGot.length === 6, "alice's client emits every change");
    expect(seqs(aliceGot)).toEqual([2, 3, 4, 5, 6, 7]);
    expect(alice.isOpen(conv.id)).toBe(false);

    const group = await bob.getGroup(conv.id);
    expect([group.title, group.description, group.memberCount, group.role]).toEqual(["Bouldering", "ropes and rocks", 1, MemberRole.OWNER]);
    const members = await bob.listMembers(conv.id);
    expect([members.memberCount, members.members.map((m) => m.userId)]).toEqual([1, [bob.user!.id]]);
    const asFormer = await alice.getConversation(conv.id);
    expect([asFormer.isMember, asFormer.lastSeq]).toEqual([false, left.seq]);
  });

  it("skips the seqs outside a re-added member's ranges instead of waiting for them", async () => {
    const [owner, bob] = [await user(), await user()];
    await Promise.all([owner.connect(), bob.connect()]);
    const conv = await owner.createGroup("Ranges", [bob.user!.id]);
    const bobGot = collect(bob, conv.id);
    await owner.send(conv.id, "before");
    const removal = await owner.removeMember(conv.id, bob.user!.id);
    await owner.send(conv.id, "while out 1");
    await owner.send(conv.id, "while out 2");
    const readd = await owner.addMembers(conv.id, [bob.user!.id]);
    const back = await owner.send(conv.id, "welcome back");
    await eventually(() => bob.cursorOf(conv.id) === back.seq, "bob's client gets past the hole");
    expect(seqs(bobGot).filter((s) => s > 1)).toEqual([2, Number(removal.seq), Number(readd.seq), Number(back.seq)]);
    expect(bobGot.map(textOf)).not.toContain("while out 1");
    expect(bob.stats.duplicatesReceived).toBe(0);
  });

  it("counts readers in a small group and tracks the receipts summary and version for the resume", async () => {
    const [alice, bob, carol] = [await user(), await user(), await user()];
    await Promise.all([alice.connect(), bob.connect(), carol.connect()]);
    const conv = await alice.createGroup("Receipts", [bob.user!.id, carol.user!.id]);
    const m = await alice.send(conv.id, "did you read this?");
    const summaries: bigint[] = [];
    alice.on("receiptSummary", ({ conversationId, summary }) => {
      if (conversationId === conv.id) summaries.push(summary.readAllSeq);
    });
    await eventually(() => bob.cursorOf(conv.id) === m.seq, "bob has it");
    bob.markRead(conv.id, m.seq);
    await eventually(() => alice.readCount(conv.id, m.seq, alice.user!.id) === 1, "one reader");
    expect((await alice.listReadBy(conv.id, m.seq)).readCount).toBe(1);
    await eventually(() => carol.cursorOf(conv.id) === m.seq, "carol has it");
    carol.markRead(conv.id, m.seq);
    await eventually(() => alice.receiptSummaryOf(conv.id)?.readAllSeq === m.seq, "read by all");
    expect(alice.readCount(conv.id, m.seq, alice.user!.id)).toBe(2);
    expect(summaries.at(-1)).toBe(m.seq);
    const readBy = await alice.listReadBy(conv.id, m.seq);
    expect([readBy.userIds.sort(), readBy.readCount, readBy.memberCount]).toEqual([[bob.user!.id, carol.user!.id].sort(), 2, 2]);

    const state = alice.resumeState();
    expect(state.receiptsVersions?.get(conv.id) ?? 0n).toBeGreaterThan(0n);
    // A device that says which receipts version it holds is not sent those receipts again.
    const receiptsOnResume = async (withVersions: boolean): Promise<number> => {
      const again = client({ deviceId: "phone", resume: withVersions ? state : { syncVersion: 0n, cursors: state.cursors } });
      let n = 0;
      again.on("receipt", ({ conversationId }) => {
        if (conversationId === conv.id) n++;
      });
      await again.login(alice.name, password);
      await again.connect();
      await again.close();
      return n;
    };
    await alice.close();
    expect(await receiptsOnResume(true)).toBe(0);
    expect(await receiptsOnResume(false)).toBeGreaterThan(0);
  });

  it("pulls an open large group on conversation_updated, emitting each message once and in order, until closed", async () => {
    const owner = await user();
    const others = [await user(), await user(), await user(), await user(), await user()];
    await Promise.all([owner.connect(), ...others.map((o) => o.connect())]);
    const conv = await owner.createGroup("Everyone", others.map((o) => o.user!.id));
    expect(conv.large).toBe(true);
    const [reader] = others;
    const got = collect(reader!, conv.id);
    const updates: bigint[] = [];
    reader!.on("conversationUpdated", ({ conversationId, lastSeq }) => {
      if (conversationId === conv.id) updates.push(lastSeq);
    });

    const sent: Message[] = [];
    for (let i = 0; i < 3; i++) sent.push(await owner.send(conv.id, `news ${i}`));
    await eventually(() => updates.includes(sent.at(-1)!.seq), "the signal");
    // Messages of a large group are not pushed (system messages may be).
    expect(got.filter((m) => m.body.case !== "system")).toEqual([]);
    expect(reader!.lastSeqOf(conv.id)).toBe(sent.at(-1)!.seq);

    await reader!.openConversation(conv.id);
    expect(seqs(got)).toEqual([1, 2, 3, 4]);
    expect(got.slice(1).map(textOf)).toEqual(sent.map(textOf));

    // Open: later news is pulled by the client itself.
    for (let i = 3; i < 5; i++) sent.push(await owner.send(conv.id, `news ${i}`));
    await eventually(() => got.length === 6, "pulled on the signal");
    expect(seqs(got)).toEqual([1, 2, 3, 4, 5, 6]);

    // Everyone reads everything: the owner sees it in the aggregate.
    owner.markRead(conv.id, sent.at(-1)!.seq);
    for (const o of others) {
      await o.openConversation(conv.id);
      o.markRead(conv.id, sent.at(-1)!.seq);
    }
    await eventually(() => owner.receiptSummaryOf(conv.id)?.readAllSeq === sent.at(-1)!.seq, "read by all, from receipt_summary");

    // Closed: the signal comes, nothing is pulled. Opening again afterwards pulls once: a
    // pull the signal had started would show as a second history read (the reopen joins a
    // running pull and runs it again), and its message would be emitted before the reopen
    // is done.
    reader!.closeConversation(conv.id);
    const reads = vi.spyOn(reader!, "listMessages");
    const last = await owner.send(conv.id, "unread news");
    await eventually(() => updates.includes(last.seq), "the signal after closing");
    await reader!.openConversation(conv.id);
    expect(reads).toHaveBeenCalledTimes(1);
    expect(seqs(got)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(reader!.stats.duplicatesReceived).toBe(0);
  });
});
