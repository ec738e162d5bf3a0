import type { MessengerClient } from "@messenger/sdk";
import { eventually } from "@messenger/testing";
import { collectMessages, makeContacts, newUser, startTestSystem, type TestSystem } from "@messenger/test-system";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { textOf } from "../support/api-user.js";

let sys: TestSystem;
const clients: MessengerClient[] = [];
beforeAll(async () => {
  sys = await startTestSystem();
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});
afterAll(async () => {
  await sys.dispose();
});

async function user(opts: { name?: string; deviceId?: string } = {}): Promise<MessengerClient> {
  const c = await newUser(sys.grpcUrl, opts);
  clients.push(c);
  return c;
}


describe("1:1 chat over the SDK", () => {
  it("two users chat in real time, in order, both ways", async () => {
    const alice = await user();
    const bob = await user();
    await Promise.all([alice.connect(), bob.connect()]);
    const conv = await alice.openDirect(bob.user!.id);
    const bobGot = collectMessages(bob);
    const aliceGot = collectMessages(alice);
    for (let i = 0; i < 20; i++) await alice.send(conv.id, `a${i}`);
    await eventually(() => bobGot.length === 20, "bob receives 20 messages");
    expect(bobGot.map((m) => textOf(m))).toEqual(Array.from({ length: 20 }, (_, i) => `a${i}`));
    expect(bobGot.map((m) => Number(m.seq))).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(bobGot.every((m) => m.senderUserId === alice.user!.id)).toBe(true);
    const reply = await bob.send(conv.id, "hi alice");
    expect(reply.seq).toBe(21n);
    await eventually(() => aliceGot.some((m) => textOf(m) === "hi alice"), "alice receives the reply");
  });

  it("a resend with the same client message id yields one message with the same seq", async () => {
    const alice = await user();
    const bob = await user();
    await Promise.all([alice.connect(), bob.connect()]);
    const conv = await alice.openDirect(bob.user!.id);
    const bobGot = collectMessages(bob);
    const first = await alice.send(conv.id, "once", "client-id-1");
    const again = await alice.send(conv.id, "once", "client-id-1");
    expect(again.seq).toBe(first.seq);
    expect(again.id).toBe(first.id);
    const page = await bob.listMessages(conv.id);
    expect(page.messages.map((m) => textOf(m))).toEqual(["once"]);
    // The resend is delivered again (gateways drop what a session has). A later message of
    // the conversation comes after it on bob's ordered stream, so once bob has that one, a
    // second copy would have reached him.
    await alice.send(conv.id, "after");
    await eventually(() => bobGot.length === 2, "bob gets the later message");
    expect(bobGot.map((m) => textOf(m))).toEqual(["once", "after"]);
    expect(bob.stats.duplicatesReceived).toBe(0);
  });

  it("concurrent sends with one client message id settle together on one message", async () => {
    const alice = await user();
    const bob = await user();
    const conv = await alice.openDirect(bob.user!.id);
    const a = alice.send(conv.id, "twice", "same-id");
    const b = alice.send(conv.id, "twice", "same-id");
    await alice.connect();
    const [m1, m2] = await Promise.all([a, b]);
    expect(m1.seq).toBe(1n);
    expect(m2.id).toBe(m1.id);
    expect((await bob.listMessages(conv.id)).messages).toHaveLength(1);
  });

  it("delivered and read receipts reach the sender", async () => {
    const alice = await user();
    const bob = await user();
    await Promise.all([alice.connect(), bob.connect()]);
    const conv = await alice.openDirect(bob.user!.id);
    const m = await alice.send(conv.id, "did you get this?");
    await eventually(() => (alice.receiptsOf(conv.id).get(bob.user!.id)?.deliveredSeq ?? 0n) >= m.seq, "delivered receipt");
    expect(alice.receiptsOf(conv.id).get(bob.user!.id)?.readSeq ?? 0n).toBe(0n);
    bob.markRead(conv.id, m.seq);
    await eventually(() => (alice.receiptsOf(conv.id).get(bob.user!.id)?.readSeq ?? 0n) >= m.seq, "read receipt");
    const inbox = await alice.listConversations();
    const row = inbox.conversations.find((c) => c.id === conv.id)!;
    expect(row.receipts.find((r) => r.userId === bob.user!.id)?.readSeq).toBe(m.seq);
  });

  it("a read mark made while disconnected reaches the sender after the next connect", async () => {
    const alice = await user();
    const bob = await user();
    await alice.connect();
    const conv = await alice.openDirect(bob.user!.id);
    const m = await alice.send(conv.id, "read me later");
    bob.markRead(conv.id, m.seq);
    // What the server holds, not a wait: the mark has not left bob's device.
    const readByBob = async () => (await alice.getConversation(conv.id)).receipts.find((r) => r.userId === bob.user!.id)?.readSeq ?? 0n;
    expect(await readByBob()).toBe(0n);
    expect(alice.receiptsOf(conv.id).get(bob.user!.id)?.readSeq ?? 0n).toBe(0n);
    await bob.connect();
    await eventually(() => alice.receiptsOf(conv.id).get(bob.user!.id)?.readSeq === m.seq, "the queued read mark arrives");
    expect(await readByBob()).toBe(m.seq);
  });

  it("a recipient offline during 50 sends gets all 50 in order on reconnect, none twice", async () => {
    const alice = await user();
    const bob = await user();
    await Promise.all([alice.connect(), bob.connect()]);
    const conv = await alice.openDirect(bob.user!.id);
    const bobGot = collectMessages(bob);
    await alice.send(conv.id, "before");
    await eventually(() => bobGot.length === 1, "bob online gets the first");
    const resume = bob.resumeState();
    const deviceId = bob.options.deviceId;
    await bob.close();
    for (let i = 0; i < 50; i++) await alice.send(conv.id, `offline ${i}`);
    const { MessengerClient } = await import("@messenger/sdk");
    const bob2 = new MessengerClient({ url: sys.grpcUrl, deviceId, resume });
    clients.push(bob2);
    const replayed = collectMessages(bob2);
    // Same account, same device: log in again with the password newUser used.
    await bob2.login(bob.user!.username, "correct horse battery");
    const sync = await bob2.connect();
    expect(sync.replayedMessages).toBe(50);
    expect(replayed.map((m) => textOf(m))).toEqual(Array.from({ length: 50 }, (_, i) => `offline ${i}`));
    expect(replayed.map((m) => Number(m.seq))).toEqual(Array.from({ length: 50 }, (_, i) => i + 2));
  });

  it("two devices of one user see the same history and each other's sends", async () => {
    const name = `multi${Date.now()}`;
    const phone = await user({ name, deviceId: "phone" });
    const laptop = await user({ name, deviceId: "laptop" });
    const bob = await user();
    await Promise.all([phone.connect(), laptop.connect(), bob.connect()]);
    const conv = await phone.openDirect(bob.user!.id);
    const laptopGot = collectMessages(laptop);
    const phoneGot = collectMessages(phone);
    await phone.send(conv.id, "from phone");
    await bob.send(conv.id, "from bob");
    await laptop.send(conv.id, "from laptop");
    await eventually(() => laptopGot.length === 3 && phoneGot.length === 3, "both devices see all three");
    expect(laptopGot.map((m) => textOf(m))).toEqual(["from phone", "from bob", "from laptop"]);
    expect(phoneGot.map((m) => textOf(m))).toEqual(["from phone", "from bob", "from laptop"]);
    const a = await phone.listMessages(conv.id);
    const b = await laptop.listMessages(conv.id);
    expect(b.messages).toEqual(a.messages);
  });

  it("pages history both ways with a client-chosen page size", async () => {
    const alice = await user();
    const bob = await user();
    // Contacts, so the conversation is in bob's inbox rather than his message requests.
    await makeContacts(alice, bob);
    const conv = await alice.openDirect(bob.user!.id);
    await alice.connect();
    for (let i = 1; i <= 25; i++) await alice.send(conv.id, `m${i}`);
    const newest = await bob.listMessages(conv.id, { pageSize: 10 });
    expect(newest.messages.map((m) => textOf(m))).toEqual(Array.from({ length: 10 }, (_, i) => `m${i + 16}`));
    expect(newest.hasMore).toBe(true);
    const older = await bob.listMessages(conv.id, { anchorSeq: newest.messages[0]!.seq, pageSize: 10 });
    expect(older.messages.map((m) => Number(m.seq))).toEqual([6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    const oldest = await bob.listMessages(conv.id, { anchorSeq: 6n, pageSize: 10 });
    expect(oldest.messages.map((m) => Number(m.seq))).toEqual([1, 2, 3, 4, 5]);
    expect(oldest.hasMore).toBe(false);
    const forward = await bob.listMessages(conv.id, { anchorSeq: 20n, direction: "forward", pageSize: 3 });
    expect(forward.messages.map((m) => Number(m.seq))).toEqual([21, 22, 23]);
    expect(forward.hasMore).toBe(true);
    const inbox = await bob.listConversations();
    expect(inbox.conversations[0]?.id).toBe(conv.id);
    expect(inbox.conversations[0]?.unreadCount).toBe(25n);
    expect(textOf(inbox.conversations[0]!.lastMessage!)).toBe("m25");
  });

  it("presence goes online, then offline with a last-seen time, for a contact", async () => {
    const alice = await user();
    const bob = await user();
    await makeContacts(alice, bob);
    await alice.connect();
    const seen: { online: boolean; lastSeen: bigint }[] = [];
    alice.on("presence", (p) => {
      if (p.userId === bob.user!.id) seen.push({ online: p.online, lastSeen: p.lastSeenAt?.seconds ?? 0n });
    });
    await bob.connect();
    await eventually(() => seen.some((s) => s.online), "bob online");
    const before = BigInt(Math.floor(Date.now() / 1000));
    await bob.close();
    await eventually(() => seen.at(-1)?.online === false, "bob offline");
    expect(seen.at(-1)!.lastSeen).toBeGreaterThanOrEqual(before);
    const [p] = await alice.getPresence([bob.user!.id]);
    expect(p?.online).toBe(false);
    expect(p?.lastSeenAt?.seconds).toBe(seen.at(-1)!.lastSeen);
  });

  it("typing indicators reach the other member and lapse on their own", async () => {
    const alice = await user();
    const bob = await user();
    await Promise.all([alice.connect(), bob.connect()]);
    const conv = await alice.openDirect(bob.user!.id);
    const events: boolean[] = [];
    bob.on("typing", (t) => {
      if (t.conversationId === conv.id && t.userId === alice.user!.id) events.push(t.typing);
    });
    alice.setTyping(conv.id, true);
    await eventually(() => events[0] === true, "bob sees typing");
    alice.setTyping(conv.id, false);
    await eventually(() => events.at(-1) === false, "bob sees typing stop");
  });
});
