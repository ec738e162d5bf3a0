import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AppendInput, HistoryRepository } from "./history-repository.js";

/**
 * The one contract every HistoryRepository adapter must pass. An adapter's test file calls
 * this with a factory that returns a fresh, empty repository.
 */
export function historyRepositoryContract(adapter: string, open: () => Promise<HistoryRepository>): void {
  describe(`HistoryRepository contract: ${adapter}`, () => {
    let repo: HistoryRepository;
    beforeEach(async () => {
      repo = await open();
    });
    afterEach(async () => {
      await repo.close();
    });

    const item = (conversationId: string, clientMessageId: string, sender = "alice", device = "phone", now = Date.now()): AppendInput => ({
      conversationId,
      senderUserId: sender,
      senderDeviceId: device,
      clientMessageId,
      text: `text ${clientMessageId}`,
      now,
    });
    /** One append on its own; rejects when it is not stored. */
    const send = async (...args: Parameters<typeof item>) => {
      const [outcome] = await repo.append([item(...args)]);
      if (!outcome!.ok) throw new Error(outcome!.error);
      return outcome!;
    };

    it("creates exactly one direct conversation per pair, whichever side opens it", async () => {
      const a = await repo.openDirect("alice", "bob", 1000);
      const b = await repo.openDirect("bob", "alice", 2000);
      expect(b.id).toBe(a.id);
      expect([...a.memberUserIds].sort()).toEqual(["alice", "bob"]);
      expect(a.lastSeq).toBe(0);
      const c = await repo.openDirect("alice", "carol", 3000);
      expect(c.id).not.toBe(a.id);
    });

    it("assigns contiguous seqs starting at 1", async () => {
      const conv = await repo.openDirect("alice", "bob", 1);
      const seqs = [];
      for (let i = 0; i < 5; i++) seqs.push((await send(conv.id, `m${i}`)).message.seq);
      expect(seqs).toEqual([1, 2, 3, 4, 5]);
      expect((await repo.getConversation(conv.id))?.lastSeq).toBe(5);
    });

    it("returns the stored message for a repeated client message id and stores nothing new", async () => {
      const conv = await repo.openDirect("alice", "bob", 1);
      const first = await send(conv.id, "same");
      const again = await send(conv.id, "same");
      expect(again.duplicate).toBe(true);
      expect(again.message).toEqual(first.message);
      expect((await repo.getConversation(conv.id))?.lastSeq).toBe(1);
      const otherDevice = await send(conv.id, "same", "alice", "laptop");
      expect(otherDevice.duplicate).toBe(false);
      expect(otherDevice.message.seq).toBe(2);
    });

    it("keeps concurrent appends contiguous and exactly-once, and a failing one does not affect the rest", async () => {
      const conv = await repo.openDirect("alice", "bob", 1);
      const results = await Promise.allSettled([
        send(conv.id, "c1"),
        send("dm_missing", "c2"),
        send(conv.id, "c3"),
        send(conv.id, "c1"),
        send(conv.id, "c4", "bob"),
      ]);
      expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled", "fulfilled", "fulfilled"]);
      const values = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
      expect(values.map((v) => v.message.seq)).toEqual([1, 2, 1, 3]);
      expect(values.map((v) => v.duplicate)).toEqual([false, false, true, false]);
      expect((await repo.getConversation(conv.id))?.lastSeq).toBe(3);
    });

    it("appends a batch in its order, and stores nothing after the first that fails", async () => {
      const conv = await repo.openDirect("alice", "bob", 1);
      await send(conv.id, "b0");
      const ok = await repo.append([item(conv.id, "b1"), item(conv.id, "b0"), item(conv.id, "b2")]);
      expect(ok.map((o) => (o.ok ? [o.message.clientMessageId, o.message.seq, o.duplicate] : o.error))).toEqual([
        ["b1", 2, false],
        ["b0", 1, true],
        ["b2", 3, false],
      ]);
      const broken = await repo.append([item(conv.id, "b3"), item("dm_missing", "b4"), item(conv.id, "b5")]);
      expect(broken.map((o) => o.ok)).toEqual([true, false, false]);
      const stored = await repo.listMessages(conv.id, { limit: 10, direction: "forward" });
      expect(stored.map((m) => m.clientMessageId)).toEqual(["b0", "b1", "b2", "b3"]);
    });

    it("pages messages forward and backward, ascending within a page", async () => {
      const conv = await repo.openDirect("alice", "bob", 1);
      for (let i = 1; i <= 10; i++) await send(conv.id, `m${i}`);
      const seqs = (ms: { seq: number }[]) => ms.map((m) => m.seq);
      expect(seqs(await repo.listMessages(conv.id, { limit: 3, direction: "backward" }))).toEqual([8, 9, 10]);
      expect(seqs(await repo.listMessages(conv.id, { beforeSeq: 8, limit: 3, direction: "backward" }))).toEqual([5, 6, 7]);
      expect(seqs(await repo.listMessages(conv.id, { afterSeq: 0, limit: 4, direction: "forward" }))).toEqual([1, 2, 3, 4]);
      expect(seqs(await repo.listMessages(conv.id, { afterSeq: 8, limit: 4, direction: "forward" }))).toEqual([9, 10]);
    });

    it("keeps watermarks per device, monotonic, and derives the member's receipt as their max", async () => {
      const conv = await repo.openDirect("alice", "bob", 1);
      for (let i = 1; i <= 5; i++) await send(conv.id, `m${i}`);
      const r1 = await repo.updateCursor(conv.id, "bob", "phone", 3, 0);
      expect(r1).toEqual({ changed: true, receipt: { userId: "bob", deliveredSeq: 3, readSeq: 0 } });
      const r2 = await repo.updateCursor(conv.id, "bob", "laptop", 2, 2);
      expect(r2.receipt).toEqual({ userId: "bob", deliveredSeq: 3, readSeq: 2 });
      const r3 = await repo.updateCursor(conv.id, "bob", "phone", 1, 0);
      expect(r3.changed).toBe(false);
      expect(await repo.deviceCursor(conv.id, "bob", "phone")).toEqual({ deliveredSeq: 3, readSeq: 0 });
      expect(await repo.deviceCursor(conv.id, "bob", "laptop")).toEqual({ deliveredSeq: 2, readSeq: 2 });
      const receipts = await repo.receipts(conv.id);
      expect(receipts).toContainEqual({ userId: "bob", deliveredSeq: 3, readSeq: 2 });
      expect(receipts).toContainEqual({ userId: "alice", deliveredSeq: 5, readSeq: 5 });
    });

    it("lists the inbox by last activity with the member's read watermark, paged", async () => {
      const ab = await repo.openDirect("alice", "bob", 10);
      const ac = await repo.openDirect("alice", "carol", 20);
      const ad = await repo.openDirect("alice", "dave", 30);
      await send(ab.id, "x", "bob", "phone", 40);
      await send(ab.id, "y", "bob", "phone", 41);
      const page1 = await repo.listInbox("alice", 2);
      expect(page1.map((e) => e.conversation.id)).toEqual([ab.id, ad.id]);
      expect(page1[0]?.lastMessage?.clientMessageId).toBe("y");
      expect(page1[0]?.conversation.lastSeq).toBe(2);
      expect(page1[0]?.readSeq).toBe(0);
      const last = page1[1]!;
      const page2 = await repo.listInbox("alice", 2, { lastActivityAt: last.conversation.lastActivityAt, conversationId: last.conversation.id });
      expect(page2.map((e) => e.conversation.id)).toEqual([ac.id]);
    });

    it("reports each changed conversation once, ordered by version, after any message or receipt", async () => {
      const ab = await repo.openDirect("alice", "bob", 1);
      const ac = await repo.openDirect("alice", "carol", 1);
      const start = (await repo.changesSince("alice", 0, 100)).at(-1)!.version;
      await send(ab.id, "1");
      await send(ac.id, "2", "carol");
      await send(ab.id, "3");
      const changes = await repo.changesSince("alice", start, 100);
      expect(changes.map((c) => c.conversationId)).toEqual([ac.id, ab.id]);
      const after = changes.at(-1)!.version;
      expect(await repo.changesSince("alice", after, 100)).toEqual([]);
      await repo.updateCursor(ab.id, "bob", "phone", 2, 2);
      expect((await repo.changesSince("alice", after, 100)).map((c) => c.conversationId)).toEqual([ab.id]);
    });

    it("lists contacts as the users sharing a conversation", async () => {
      await repo.openDirect("alice", "bob", 1);
      await repo.openDirect("carol", "alice", 1);
      await repo.openDirect("bob", "carol", 1);
      expect(await repo.contactsOf("alice")).toEqual(["bob", "carol"]);
    });
  });
}
