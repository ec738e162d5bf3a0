import { create } from "@bufbuild/protobuf";
import { CiphertextSchema, MediaRefSchema, RetentionMode } from "@messenger/proto/chat/v1/types";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { GroupChange } from "../domain/group-change.js";
import type { AppendInput, AppendOutcome, HistoryRepository, MessageBody } from "./history-repository.js";

/**
 * The one contract every HistoryRepository adapter must pass. An adapter's test file calls
 * this with a factory that returns a fresh, empty repository. It states only what the port
 * promises: nothing about how concurrent calls are ordered against each other, only that
 * each conversation's seqs stay contiguous and exactly-once.
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

    const item = (conversationId: string, clientMessageId: string, sender = "alice", device = "phone", now = Date.now(), body?: MessageBody): AppendInput => ({
      conversationId,
      senderUserId: sender,
      senderDeviceId: device,
      clientMessageId,
      body: body ?? { kind: "text", text: `text ${clientMessageId}` },
      replyToSeq: 0,
      clientSentAt: undefined,
      now,
    });
    const stored = (o: AppendOutcome | undefined) => {
      if (!o?.ok) throw new Error(o ? o.error : "no outcome");
      return o;
    };
    /** One append on its own; rejects when it is not stored. */
    const send = async (...args: Parameters<typeof item>) => stored((await repo.append([item(...args)]))[0]);
    let version = 0;
    const change = async (conversationId: string, actor: string, c: GroupChange, now = 100) => {
      const out = await repo.applyGroupChange({ conversationId, actorUserId: actor, expectedMemberVersion: version, change: c, now });
      version = out.memberVersion;
      return out;
    };
    const createGroup = async (id: string, members: string[]) => {
      version = 0;
      return change(id, "owner", { kind: "create", title: "t", description: "d", memberUserIds: members });
    };

    it("creates exactly one direct conversation per pair, whichever side opens it, with both members from seq 1", async () => {
      const a = await repo.openDirect("alice", "bob", 1000, false);
      const b = await repo.openDirect("bob", "alice", 2000, false);
      expect(b.id).toBe(a.id);
      expect(a).toMatchObject({ kind: "direct", lastSeq: 0, memberCount: 2, minSeq: 0, createdAt: 1000 });
      expect(a.memberVersion).toBeGreaterThan(0);
      expect(await repo.memberRanges(a.id)).toEqual([
        { userId: "alice", fromSeq: 1, toSeq: undefined },
        { userId: "bob", fromSeq: 1, toSeq: undefined },
      ]);
      expect(await repo.getMember(a.id, "bob")).toMatchObject({ active: true, role: undefined, joinedSeq: 1, deliveredSeq: 0, readSeq: 0 });
      expect(await repo.getMember(a.id, "carol")).toBeUndefined();
      const c = await repo.openDirect("alice", "carol", 3000, false);
      expect(c.id).not.toBe(a.id);
      expect((await repo.userConversations("alice", "", 10)).map((r) => r.conversation.id).sort()).toEqual([a.id, c.id].sort());
    });

    it("assigns contiguous seqs starting at 1 and moves the head", async () => {
      const conv = await repo.openDirect("alice", "bob", 1, false);
      const seqs = [];
      for (let i = 0; i < 5; i++) seqs.push((await send(conv.id, `m${i}`, "alice", "phone", 10 + i)).message.seq);
      expect(seqs).toEqual([1, 2, 3, 4, 5]);
      expect(await repo.getConversation(conv.id)).toMatchObject({ lastSeq: 5, lastActivityAt: 14 });
    });

    it("stores every body kind, reply_to_seq and client_sent_at, and returns them as stored", async () => {
      const conv = await repo.openDirect("alice", "bob", 1, false);
      const media = create(MediaRefSchema, { mediaId: "m1", mimeType: "image/png", sizeBytes: 1234n, width: 10, height: 20, thumbnail: new Uint8Array([1, 2, 3]), fileName: "a.png" });
      const ciphertext = create(CiphertextSchema, { ciphertext: new Uint8Array([9, 8, 7]), algorithm: "signal-v1", senderKeyId: "k1" });
      const t = await send(conv.id, "t", "alice", "phone", 5, { kind: "text", text: "hello ✓" });
      const m = stored((await repo.append([{ ...item(conv.id, "m", "alice", "phone", 6, { kind: "media", media }), replyToSeq: 1, clientSentAt: 4 }]))[0]);
      const c = await send(conv.id, "c", "bob", "laptop", 7, { kind: "ciphertext", ciphertext });
      const all = await repo.listMessages(conv.id, { limit: 10, direction: "forward" });
      expect(all).toEqual([t.message, m.message, c.message]);
      expect(all[0]!.body).toEqual({ kind: "text", text: "hello ✓" });
      expect(all[1]).toMatchObject({ replyToSeq: 1, clientSentAt: 4, body: { kind: "media", media: { mediaId: "m1", mimeType: "image/png", sizeBytes: 1234n, width: 10, height: 20, fileName: "a.png" } } });
      expect([...(all[1]!.body as { media: { thumbnail: Uint8Array } }).media.thumbnail]).toEqual([1, 2, 3]);
      expect(all[2]!.body).toMatchObject({ kind: "ciphertext", ciphertext: { algorithm: "signal-v1", senderKeyId: "k1" } });
      expect(await repo.messagesAt(conv.id, [2, 99])).toEqual([m.message]);
    });

    it("refuses a reply_to_seq beyond the newest message", async () => {
      const conv = await repo.openDirect("alice", "bob", 1, false);
      const [o] = await repo.append([{ ...item(conv.id, "r"), replyToSeq: 1 }]);
      expect(o).toMatchObject({ ok: false, refused: true, kind: "invalid_argument" });
    });

    it("returns the stored message for a repeated client message id and stores nothing new", async () => {
      const conv = await repo.openDirect("alice", "bob", 1, false);
      const first = await send(conv.id, "same");
      const again = await send(conv.id, "same");
      expect(again.duplicate).toBe(true);
      expect(again.message).toEqual(first.message);
      expect((await repo.getConversation(conv.id))?.lastSeq).toBe(1);
      const otherDevice = await send(conv.id, "same", "alice", "laptop");
      expect(otherDevice.duplicate).toBe(false);
      expect(otherDevice.message.seq).toBe(2);
    });

    it("keeps concurrent appends contiguous and exactly-once, and a refused one does not affect the rest", async () => {
      const conv = await repo.openDirect("alice", "bob", 1, false);
      const outcomes = (await Promise.all([
        repo.append([item(conv.id, "c1")]),
        repo.append([item("dm_missing", "c2")]),
        repo.append([item(conv.id, "c3")]),
        repo.append([item(conv.id, "c1")]),
        repo.append([item(conv.id, "c4", "bob")]),
        repo.append([item(conv.id, "c5", "mallory")]),
      ])).map((o) => o[0]!);
      expect(outcomes.map((o) => (o.ok ? "ok" : o.refused && o.kind))).toEqual(["ok", "not_found", "ok", "ok", "ok", "permission_denied"]);
      const ok = outcomes.flatMap((o) => (o.ok ? [o] : []));
      const fresh = ok.filter((o) => !o.duplicate);
      expect(fresh.map((o) => o.message.seq).sort()).toEqual([1, 2, 3]);
      const dup = ok.filter((o) => o.duplicate);
      expect(dup).toHaveLength(1);
      expect(dup[0]!.message).toEqual(fresh.find((o) => o.message.clientMessageId === "c1")!.message);
      expect((await repo.getConversation(conv.id))?.lastSeq).toBe(3);
    });

    it("appends a batch in its order; a refused item does not stop the rest", async () => {
      const conv = await repo.openDirect("alice", "bob", 1, false);
      await send(conv.id, "b0");
      const ok = await repo.append([item(conv.id, "b1"), item(conv.id, "b0"), item("dm_missing", "x"), item(conv.id, "b9", "mallory"), item(conv.id, "b2")]);
      expect(ok.map((o) => (o.ok ? [o.message.clientMessageId, o.message.seq, o.duplicate] : o.refused))).toEqual([["b1", 2, false], ["b0", 1, true], true, true, ["b2", 3, false]]);
      expect(ok[0]).toMatchObject({ memberCount: 2 });
      const all = await repo.listMessages(conv.id, { limit: 10, direction: "forward" });
      expect(all.map((m) => m.clientMessageId)).toEqual(["b0", "b1", "b2"]);
    });

    it("pages messages forward and backward, ascending within a page", async () => {
      const conv = await repo.openDirect("alice", "bob", 1, false);
      for (let i = 1; i <= 10; i++) await send(conv.id, `m${i}`);
      const seqs = (ms: { seq: number }[]) => ms.map((m) => m.seq);
      expect(seqs(await repo.listMessages(conv.id, { limit: 3, direction: "backward" }))).toEqual([8, 9, 10]);
      expect(seqs(await repo.listMessages(conv.id, { beforeSeq: 8, limit: 3, direction: "backward" }))).toEqual([5, 6, 7]);
      expect(seqs(await repo.listMessages(conv.id, { afterSeq: 0, limit: 4, direction: "forward" }))).toEqual([1, 2, 3, 4]);
      expect(seqs(await repo.listMessages(conv.id, { afterSeq: 8, limit: 4, direction: "forward" }))).toEqual([9, 10]);
    });

    it("keeps watermarks per device, monotonic; the member's receipt is their max and moves receipts_version", async () => {
      const conv = await repo.openDirect("alice", "bob", 1, false);
      for (let i = 1; i <= 5; i++) await send(conv.id, `m${i}`);
      const v0 = (await repo.getConversation(conv.id))!.receiptsVersion;
      const r1 = await repo.updateCursor(conv.id, "bob", "phone", 3, 0);
      expect(r1).toMatchObject({ changed: true, receipt: { userId: "bob", deliveredSeq: 3, readSeq: 0 }, receiptsVersion: v0 + 1 });
      expect(r1.summary).toEqual({ memberCount: 2, deliveredAllSeq: 3, readAllSeq: 0 });
      const r2 = await repo.updateCursor(conv.id, "bob", "laptop", 0, 2);
      expect(r2.receipt).toEqual({ userId: "bob", deliveredSeq: 3, readSeq: 2 });
      expect(r2.receiptsVersion).toBe(v0 + 2);
      const r3 = await repo.updateCursor(conv.id, "bob", "phone", 1, 0);
      expect(r3).toMatchObject({ changed: false, receiptsVersion: v0 + 2 });
      const cursors = await repo.deviceCursors("bob", "phone", [conv.id, "dm_other"]);
      expect([...cursors]).toEqual([[conv.id, { deliveredSeq: 3, readSeq: 0 }]]);
      // A read implies delivered.
      expect((await repo.deviceCursors("bob", "laptop", [conv.id])).get(conv.id)).toEqual({ deliveredSeq: 2, readSeq: 2 });
      const receipts = await repo.receipts(conv.id);
      expect(receipts).toEqual([
        { userId: "alice", deliveredSeq: 5, readSeq: 5 },
        { userId: "bob", deliveredSeq: 3, readSeq: 2 },
      ]);
      expect(await repo.receiptSummary(conv.id)).toEqual({ memberCount: 2, deliveredAllSeq: 3, readAllSeq: 2 });
    });

    it("refuses watermarks beyond the newest seq, for strangers and for unknown conversations", async () => {
      const conv = await repo.openDirect("alice", "bob", 1, false);
      await send(conv.id, "m1");
      await expect(repo.updateCursor(conv.id, "bob", "phone", 2, 0)).rejects.toMatchObject({ kind: "out_of_range" });
      await expect(repo.updateCursor(conv.id, "mallory", "phone", 1, 0)).rejects.toMatchObject({ kind: "permission_denied" });
      await expect(repo.updateCursor("dm_missing", "bob", "phone", 1, 0)).rejects.toMatchObject({ kind: "not_found" });
      expect((await repo.receipts(conv.id)).find((r) => r.userId === "bob")).toEqual({ userId: "bob", deliveredSeq: 0, readSeq: 0 });
    });

    it("creates a group with its system message at seq 1, the actor as owner, everyone's range from 1", async () => {
      const out = await createGroup("g1", ["bob", "carol"]);
      expect(out.memberCount).toBe(3);
      expect(out.event).toMatchObject({ seq: 1, senderUserId: "owner", senderDeviceId: "", conversationId: "g1" });
      expect(out.event.clientMessageId).toMatch(/^system:/);
      expect(out.event.body).toMatchObject({ kind: "system", system: { actorUserId: "owner", event: { case: "groupCreated", value: { title: "t", memberUserIds: ["owner", "bob", "carol"] } } } });
      expect(await repo.getConversation("g1")).toMatchObject({ kind: "group", title: "t", description: "d", lastSeq: 1, memberCount: 3, memberVersion: out.memberVersion });
      expect(await repo.listMessages("g1", { limit: 5, direction: "forward" })).toEqual([out.event]);
      expect((await repo.memberRanges("g1")).map((r) => [r.userId, r.fromSeq, r.toSeq])).toEqual([["bob", 1, undefined], ["carol", 1, undefined], ["owner", 1, undefined]]);
      expect((await repo.getMembers("g1", ["owner", "bob", "zed"])).map((m) => [m.userId, m.role, m.active]).sort()).toEqual([["bob", "member", true], ["owner", "owner", true]]);
      expect((await repo.userConversations("carol", "", 10)).map((r) => r.conversation.id)).toEqual(["g1"]);
      await expect(createGroup("g1", [])).rejects.toMatchObject({ kind: "already_exists" });
    });

    it("creates a group with the retention asked, in its head and its group_created message, and deletes by it; a bad TTL creates nothing", async () => {
      version = 0;
      const out = await change("g-ttl", "owner", { kind: "create", title: "t", description: "", memberUserIds: ["bob"], retention: { mode: "disappearing", ttlSeconds: 3600 } }, 1000);
      const ev = out.event.body.kind === "system" ? out.event.body.system.event : undefined;
      expect(ev?.case === "groupCreated" ? ev.value.retention : undefined).toMatchObject({ mode: RetentionMode.DISAPPEARING, ttlSeconds: 3600 });
      expect(await repo.getConversation("g-ttl")).toMatchObject({ lastSeq: 1, retention: { mode: "disappearing", ttlSeconds: 3600 } });
      await send("g-ttl", "m2", "bob", "phone", 2000);
      expect(await repo.deleteExpired(1000 + 3_600_000, 100)).toEqual({ deleted: 0, conversations: 0, more: false });
      expect(await repo.deleteExpired(2000 + 3_600_001, 100)).toEqual({ deleted: 2, conversations: 1, more: false });
      expect(await repo.getConversation("g-ttl")).toMatchObject({ minSeq: 3, lastSeq: 2 });

      // Without one, permanent, and the first message says so.
      const plain = await createGroup("g-plain", ["bob"]);
      const plainEv = plain.event.body.kind === "system" ? plain.event.body.system.event : undefined;
      expect(plainEv?.case === "groupCreated" ? plainEv.value.retention?.mode : undefined).toBe(RetentionMode.PERMANENT);
      expect(await repo.getConversation("g-plain")).toMatchObject({ retention: { mode: "permanent", ttlSeconds: 0 } });

      for (const ttlSeconds of [60, 91 * 86_400]) {
        version = 0;
        await expect(change("g-bad", "owner", { kind: "create", title: "t", description: "", memberUserIds: ["bob"], retention: { mode: "disappearing", ttlSeconds } })).rejects.toMatchObject({
          kind: "invalid_argument",
        });
      }
      expect(await repo.getConversation("g-bad")).toBeUndefined();
      expect((await repo.userConversations("bob", "", 10)).map((r) => r.conversation.id)).toEqual(["g-plain", "g-ttl"]);
    });

    it("creates a direct conversation with the retention asked; an open of an existing one leaves its retention as it is", async () => {
      const created = await repo.openDirect("alice", "bob", 1000, false, { mode: "store_and_forward", ttlSeconds: 0 });
      expect(created.retention).toEqual({ mode: "store_and_forward", ttlSeconds: 0 });
      expect((await repo.storeAndForwardHeld("", 10)).map((c) => c.id)).toEqual([]);
      await send(created.id, "s1", "alice");
      expect((await repo.storeAndForwardHeld("", 10)).map((c) => c.id)).toEqual([created.id]);
      const again = await repo.openDirect("bob", "alice", 2000, false, { mode: "disappearing", ttlSeconds: 600 });
      expect([again.id, again.retention]).toEqual([created.id, { mode: "store_and_forward", ttlSeconds: 0 }]);
      expect((await repo.openDirect("alice", "bob", 3000, false)).retention).toEqual({ mode: "store_and_forward", ttlSeconds: 0 });
      expect(await repo.getConversation(created.id)).toMatchObject({ lastSeq: 1, createdAt: 1000, retention: { mode: "store_and_forward" } });
      // Without one, permanent.
      expect((await repo.openDirect("alice", "carol", 1000, false)).retention).toEqual({ mode: "permanent", ttlSeconds: 0 });
      const disappearing = await repo.openDirect("alice", "dave", 1000, false, { mode: "disappearing", ttlSeconds: 300 });
      expect(await repo.getConversation(disappearing.id)).toMatchObject({ retention: { mode: "disappearing", ttlSeconds: 300 } });
    });

    it("closes a removed member's range at the removal's seq, refuses their sends after it, and opens a new range when re-added", async () => {
      await createGroup("g2", ["bob", "carol"]);
      await send("g2", "m2", "bob");
      const removed = await change("g2", "owner", { kind: "removeMember", userId: "bob" });
      expect(removed).toMatchObject({ memberCount: 2, event: { seq: 3 } });
      expect(await repo.getMember("g2", "bob")).toMatchObject({ active: false, role: undefined, joinedSeq: 1, leftSeq: 3 });
      const [refused] = await repo.append([item("g2", "m4", "bob")]);
      expect(refused).toMatchObject({ ok: false, refused: true, kind: "permission_denied" });
      await send("g2", "m4", "carol");
      const added = await change("g2", "owner", { kind: "addMembers", userIds: ["bob", "dave"] });
      expect(added).toMatchObject({ memberCount: 4, event: { seq: 5 } });
      expect((await repo.rangesOf("g2", "bob")).map((r) => [r.fromSeq, r.toSeq])).toEqual([[1, 3], [5, undefined]]);
      expect((await repo.rangesOf("g2", "dave")).map((r) => [r.fromSeq, r.toSeq])).toEqual([[5, undefined]]);
      expect((await send("g2", "m6", "bob")).message.seq).toBe(6);
      const left = await change("g2", "carol", { kind: "leave" });
      expect(left.memberCount).toBe(3);
      expect((await repo.getMember("g2", "carol"))?.leftSeq).toBe(7);
      expect((await repo.listActiveMembers("g2", "", 10)).map((m) => m.userId)).toEqual(["bob", "dave", "owner"]);
      expect((await repo.listActiveMembers("g2", "bob", 1)).map((m) => m.userId)).toEqual(["dave"]);
      // A former member stays in their user index (their history stays readable).
      expect((await repo.userConversations("carol", "", 10)).map((r) => [r.conversation.id, r.member.active])).toEqual([["g2", false]]);
    });

    it("refuses a change decided on an old member_version with ABORTED and changes nothing", async () => {
      await createGroup("g3", ["bob"]);
      const stale = version;
      await change("g3", "owner", { kind: "addMembers", userIds: ["carol"] });
      const before = await repo.getConversation("g3");
      await expect(
        repo.applyGroupChange({ conversationId: "g3", actorUserId: "owner", expectedMemberVersion: stale, change: { kind: "removeMember", userId: "bob" }, now: 1 }),
      ).rejects.toMatchObject({ kind: "aborted" });
      expect(await repo.getConversation("g3")).toEqual(before);
      expect(await repo.getMember("g3", "bob")).toMatchObject({ active: true });
      expect(await repo.listMessages("g3", { limit: 10, direction: "forward" })).toHaveLength(2);
    });

    it("checks a change's structural invariants and changes nothing when one fails", async () => {
      await createGroup("g4", ["bob"]);
      const dm = await repo.openDirect("alice", "bob", 1, false);
      const refuse = (conversationId: string, actor: string, c: GroupChange, expected = version) =>
        repo.applyGroupChange({ conversationId, actorUserId: actor, expectedMemberVersion: expected, change: c, now: 1 });
      await expect(refuse("g-missing", "owner", { kind: "leave" }, 1)).rejects.toMatchObject({ kind: "not_found" });
      await expect(refuse(dm.id, "alice", { kind: "addMembers", userIds: ["carol"] }, dm.memberVersion)).rejects.toMatchObject({ kind: "failed_precondition" });
      await expect(refuse("g4", "owner", { kind: "addMembers", userIds: ["bob"] })).rejects.toMatchObject({ kind: "failed_precondition" });
      await expect(refuse("g4", "owner", { kind: "removeMember", userId: "zed" })).rejects.toMatchObject({ kind: "failed_precondition" });
      await expect(refuse("g4", "zed", { kind: "leave" })).rejects.toMatchObject({ kind: "failed_precondition" });
      await expect(refuse("g4", "bob", { kind: "removeMember", userId: "owner" })).rejects.toMatchObject({ kind: "failed_precondition" });
      await expect(refuse("g4", "bob", { kind: "transferOwnership", toUserId: "owner" })).rejects.toMatchObject({ kind: "failed_precondition" });
      await expect(refuse("g4", "owner", { kind: "leave" })).rejects.toMatchObject({ kind: "failed_precondition" });
      expect(await repo.getConversation("g4")).toMatchObject({ lastSeq: 1, memberVersion: version, memberCount: 2 });
    });

    it("sets roles, transfers ownership and updates info, each with its system message and a new member_version", async () => {
      await createGroup("g5", ["bob", "carol"]);
      const v1 = version;
      const r = await change("g5", "owner", { kind: "setRole", userId: "bob", role: "admin" });
      expect(r.memberVersion).toBeGreaterThan(v1);
      expect(r.event.body).toMatchObject({ kind: "system", system: { event: { case: "roleChanged", value: { userId: "bob" } } } });
      await change("g5", "owner", { kind: "transferOwnership", toUserId: "carol" });
      expect((await repo.getMembers("g5", ["owner", "bob", "carol"])).map((m) => [m.userId, m.role]).sort()).toEqual([["bob", "admin"], ["carol", "owner"], ["owner", "admin"]]);
      const info = await change("g5", "bob", { kind: "updateInfo", title: "new", description: "desc" });
      expect(info.event.seq).toBe(4);
      expect(await repo.getConversation("g5")).toMatchObject({ title: "new", description: "desc", lastSeq: 4, memberVersion: version, memberCount: 3 });
    });

    it("serializes a send racing a removal: the sender's message lands before the removal or is refused", async () => {
      await createGroup("g6", ["bob"]);
      const [sent, removed] = await Promise.all([
        repo.append([item("g6", "race", "bob")]),
        change("g6", "owner", { kind: "removeMember", userId: "bob" }),
      ]);
      const o = sent[0]!;
      if (o.ok) expect(o.message.seq).toBeLessThan(removed.event.seq);
      else expect(o).toMatchObject({ refused: true, kind: "permission_denied" });
      const [after] = await repo.append([item("g6", "after", "bob")]);
      expect(after).toMatchObject({ ok: false, kind: "permission_denied" });
    });

    it("pages the user index in conversation id order with heads and the user's membership", async () => {
      for (const id of ["g-c", "g-a", "g-b"]) await createGroup(id, ["bob"]);
      await send("g-b", "x", "bob", "phone", 500);
      const first = await repo.userConversations("bob", "", 2);
      expect(first.map((r) => r.conversation.id)).toEqual(["g-a", "g-b"]);
      expect(first[1]).toMatchObject({ conversation: { lastSeq: 2, lastActivityAt: 500 }, member: { userId: "bob", active: true, readSeq: 2 } });
      expect((await repo.userConversations("bob", "g-b", 2)).map((r) => r.conversation.id)).toEqual(["g-c"]);
    });

    it("counts and pages the current members who read a message, without its sender", async () => {
      await createGroup("g7", ["bob", "carol", "dave"]);
      const m = await send("g7", "m", "bob");
      await repo.updateCursor("g7", "carol", "phone", 2, 2);
      await repo.updateCursor("g7", "owner", "phone", 2, 2);
      expect(await repo.readBy("g7", 2, "bob", "", 10)).toEqual({ userIds: ["carol", "owner"], count: 2, eligible: 3 });
      expect(await repo.readBy("g7", 2, "bob", "carol", 10)).toEqual({ userIds: ["owner"], count: 2, eligible: 3 });
      expect(m.memberCount).toBe(4);
      expect(await repo.receiptSummary("g7")).toEqual({ memberCount: 4, deliveredAllSeq: 0, readAllSeq: 0 });
    });

    it("does not count a member who joined after a message among its readers", async () => {
      await createGroup("g8", ["bob"]);
      await send("g8", "before erin", "bob");
      await change("g8", "owner", { kind: "addMembers", userIds: ["erin"] });
      // erin's watermarks start at her join, past message 2, but she never saw it; the owner
      // read it (adding erin counts as having seen the conversation up to then).
      expect(await repo.readBy("g8", 2, "bob", "", 10)).toEqual({ userIds: ["owner"], count: 1, eligible: 1 });
    });

    it("lets a former member move watermarks up to the end of their range only", async () => {
      await createGroup("g8", ["bob"]);
      await send("g8", "m", "owner");
      await change("g8", "owner", { kind: "removeMember", userId: "bob" });
      await send("g8", "m2", "owner");
      await expect(repo.updateCursor("g8", "bob", "phone", 4, 0)).rejects.toMatchObject({ kind: "out_of_range" });
      expect((await repo.updateCursor("g8", "bob", "phone", 3, 3)).receipt).toEqual({ userId: "bob", deliveredSeq: 3, readSeq: 3 });
    });

    it("refuses the open to a user the peer blocked before the conversation existed; once the blocker opens it, nobody can send", async () => {
      await repo.setDirectRelation("alice", "bob", true, false);
      await expect(repo.openDirect("bob", "alice", 1, false)).rejects.toMatchObject({ kind: "permission_denied" });
      const conv = await repo.openDirect("alice", "bob", 2, false);
      expect(conv).toMatchObject({ kind: "direct", blocked: true, lastSeq: 0, memberCount: 2 });
      const out = await repo.append([item(conv.id, "from the blocker", "alice"), item(conv.id, "from the blocked", "bob")]);
      expect(out.map((o) => (o.ok ? "stored" : o.refused && o.kind))).toEqual(["permission_denied", "permission_denied"]);
      expect(await repo.getConversation(conv.id)).toMatchObject({ lastSeq: 0, blocked: true });
      expect(await repo.listMessages(conv.id, { limit: 10, direction: "forward" })).toEqual([]);
      // Now that it exists, the blocked user still cannot open it.
      await expect(repo.openDirect("bob", "alice", 3, false)).rejects.toMatchObject({ kind: "permission_denied" });
    });

    it("refuses the next send once either user blocks, keeps the history, and takes sends again once no block is left", async () => {
      const conv = await repo.openDirect("alice", "bob", 1, false);
      await send(conv.id, "m1", "alice");
      await send(conv.id, "m2", "bob");
      await repo.setDirectRelation("bob", "alice", true, false);
      expect(await repo.getConversation(conv.id)).toMatchObject({ blocked: true, lastSeq: 2 });
      const [refused] = await repo.append([item(conv.id, "m3", "alice")]);
      expect(refused).toMatchObject({ ok: false, refused: true, kind: "permission_denied" });
      // A resend of a message stored before the block is answered with it, as always.
      expect((await send(conv.id, "m1", "alice")).duplicate).toBe(true);
      // Both block; one unblocking (even twice over) leaves the other's block in force.
      await repo.setDirectRelation("alice", "bob", true, false);
      await repo.setDirectRelation("bob", "alice", true, false);
      await repo.setDirectRelation("bob", "alice", false, false);
      await repo.setDirectRelation("bob", "alice", false, false);
      const [still] = await repo.append([item(conv.id, "m3", "bob")]);
      expect(still).toMatchObject({ ok: false, refused: true, kind: "permission_denied" });
      await repo.setDirectRelation("alice", "bob", false, false);
      expect(await repo.getConversation(conv.id)).toMatchObject({ blocked: false, lastSeq: 2 });
      expect((await send(conv.id, "m3", "alice")).message.seq).toBe(3);
      expect((await repo.listMessages(conv.id, { limit: 10, direction: "forward" })).map((m) => m.clientMessageId)).toEqual(["m1", "m2", "m3"]);
      await expect(repo.setDirectRelation("alice", "alice", true, false)).rejects.toMatchObject({ kind: "invalid_argument" });
    });

    it("puts a direct conversation in the peer's requests when it lands there, and leaves an existing one where it is", async () => {
      const conv = await repo.openDirect("alice", "bob", 1, true);
      const folders = async () => [(await repo.userConversation("alice", conv.id))?.request, (await repo.userConversation("bob", conv.id))?.request];
      expect(await folders()).toEqual([false, true]);
      await repo.openDirect("bob", "alice", 2, true);
      await repo.openDirect("alice", "bob", 3, false);
      expect(await folders()).toEqual([false, true]);
      expect(await repo.userConversations("bob", "", 10)).toMatchObject([{ conversation: { id: conv.id, blocked: false }, member: { userId: "bob" }, request: true, hiddenSeq: 0 }]);
      expect(await repo.userConversation("carol", conv.id)).toBeUndefined();
      await createGroup("g10", ["bob"]);
      expect(await repo.userConversation("bob", "g10")).toMatchObject({ request: false, conversation: { kind: "group", blocked: false } });
    });

    it("accepts a request into the inbox, and hides a deleted one until a message goes beyond it", async () => {
      const conv = await repo.openDirect("alice", "bob", 1, true);
      await send(conv.id, "m1", "alice");
      await expect(repo.deleteRequest("alice", conv.id)).rejects.toMatchObject({ kind: "failed_precondition" });
      await expect(repo.acceptRequest("carol", conv.id)).rejects.toMatchObject({ kind: "not_found" });
      await expect(repo.deleteRequest("carol", conv.id)).rejects.toMatchObject({ kind: "not_found" });
      await repo.deleteRequest("bob", conv.id);
      expect(await repo.userConversation("bob", conv.id)).toMatchObject({ request: true, hiddenSeq: 1 });
      await send(conv.id, "m2", "alice");
      await repo.acceptRequest("bob", conv.id);
      expect(await repo.userConversation("bob", conv.id)).toMatchObject({ request: false, conversation: { lastSeq: 2 } });
      // Already in the inbox: nothing changes, and it cannot be deleted as a request.
      await repo.acceptRequest("bob", conv.id);
      await repo.acceptRequest("alice", conv.id);
      expect((await repo.userConversation("bob", conv.id))?.request).toBe(false);
      await expect(repo.deleteRequest("bob", conv.id)).rejects.toMatchObject({ kind: "failed_precondition" });
    });

    it("takes a direct conversation out of both users' requests when they become contacts", async () => {
      const conv = await repo.openDirect("alice", "bob", 1, true);
      await repo.setDirectRelation("bob", "alice", false, true);
      expect([(await repo.userConversation("alice", conv.id))?.request, (await repo.userConversation("bob", conv.id))?.request]).toEqual([false, false]);
    });

    it("files a conversation created after the pair became contacts in both inboxes, though the opener was told it lands in requests", async () => {
      // Both users' records (what accounts sends), or either one alone: contact is mutual.
      const inboxes = async (a: string, b: string) => {
        const conv = await repo.openDirect(a, b, 1, true);
        return [conv.blocked, (await repo.userConversation(a, conv.id))?.request, (await repo.userConversation(b, conv.id))?.request];
      };
      await repo.setDirectRelation("carol", "dave", false, true);
      await repo.setDirectRelation("dave", "carol", false, true);
      expect(await inboxes("carol", "dave")).toEqual([false, false, false]);
      await repo.setDirectRelation("erin", "frank", false, true);
      expect(await inboxes("erin", "frank")).toEqual([false, false, false]);
      await repo.setDirectRelation("hal", "gina", false, true);
      expect(await inboxes("gina", "hal")).toEqual([false, false, false]);
      // A contact's record that lifts its block is no block; one that keeps it still is.
      await repo.setDirectRelation("ivan", "judy", true, true);
      await repo.setDirectRelation("ivan", "judy", false, true);
      expect(await inboxes("judy", "ivan")).toEqual([false, false, false]);
      await repo.setDirectRelation("kim", "leo", true, true);
      expect(await inboxes("kim", "leo")).toEqual([true, false, false]);
      // Contact ended on both sides, no block: a new conversation lands where the opener was told.
      await repo.setDirectRelation("mia", "ned", false, true);
      await repo.setDirectRelation("ned", "mia", false, true);
      await repo.setDirectRelation("mia", "ned", false, false);
      await repo.setDirectRelation("ned", "mia", false, false);
      expect(await inboxes("mia", "ned")).toEqual([false, false, true]);
    });

    it("changes retention with its system message: any member of a direct conversation, only an admin or the owner of a group", async () => {
      const d = await repo.openDirect("alice", "bob", 1000, false);
      await send(d.id, "a1", "alice", "phone", 2000);
      const changed = await repo.setRetention({ conversationId: d.id, actorUserId: "bob", retention: { mode: "disappearing", ttlSeconds: 3600 }, now: 3000 });
      expect(changed.event).toMatchObject({ seq: 2, senderUserId: "bob", sentAt: 3000 });
      const ev = changed.event.body.kind === "system" ? changed.event.body.system : undefined;
      expect(ev?.event.case === "retentionChanged" ? [ev.actorUserId, ev.event.value.retention?.ttlSeconds] : []).toEqual(["bob", 3600]);
      expect(await repo.getConversation(d.id)).toMatchObject({ lastSeq: 2, retention: { mode: "disappearing", ttlSeconds: 3600 } });
      await expect(repo.setRetention({ conversationId: d.id, actorUserId: "carol", retention: { mode: "permanent", ttlSeconds: 0 }, now: 4000 })).rejects.toMatchObject({ kind: "permission_denied" });
      await expect(repo.setRetention({ conversationId: "nope", actorUserId: "alice", retention: { mode: "permanent", ttlSeconds: 0 }, now: 4000 })).rejects.toMatchObject({ kind: "not_found" });
      // Across a block, neither side writes into the conversation.
      await repo.setDirectRelation("alice", "bob", true, false);
      await expect(repo.setRetention({ conversationId: d.id, actorUserId: "bob", retention: { mode: "disappearing", ttlSeconds: 300 }, now: 4000 })).rejects.toMatchObject({ kind: "permission_denied" });
      await repo.setDirectRelation("alice", "bob", false, false);
      expect(await repo.getConversation(d.id)).toMatchObject({ lastSeq: 2, retention: { ttlSeconds: 3600 } });

      await createGroup("gr", ["bob", "carol"]);
      await expect(repo.setRetention({ conversationId: "gr", actorUserId: "bob", retention: { mode: "disappearing", ttlSeconds: 600 }, now: 5000 })).rejects.toMatchObject({ kind: "permission_denied" });
      expect(await repo.getConversation("gr")).toMatchObject({ lastSeq: 1, retention: { mode: "permanent" } });
      await change("gr", "owner", { kind: "setRole", userId: "bob", role: "admin" });
      expect((await repo.setRetention({ conversationId: "gr", actorUserId: "bob", retention: { mode: "disappearing", ttlSeconds: 600 }, now: 5000 })).event.seq).toBe(3);
    });

    it("deletes what a disappearing conversation's TTL says is gone, oldest first, in bounded passes, with its media references, and moves min_seq", async () => {
      const d = await repo.openDirect("alice", "bob", 1000, false);
      const media = (id: string): MessageBody => ({ kind: "media", media: create(MediaRefSchema, { mediaId: id, mimeType: "image/png", sizeBytes: 1n }) });
      for (let i = 1; i <= 5; i++) await send(d.id, `m${i}`, "alice", "phone", 10_000 + i * 1000, i === 2 ? media("m_two") : i === 5 ? media("m_five") : undefined);
      // Messages are at 11 000 … 15 000; the change (seq 6) at 16 000.
      await repo.setRetention({ conversationId: d.id, actorUserId: "alice", retention: { mode: "disappearing", ttlSeconds: 300 }, now: 16_000 });
      const permanent = await repo.openDirect("alice", "carol", 1000, false);
      await send(permanent.id, "p1", "alice", "phone", 10_000);
      expect(await repo.deleteExpired(16_000, 100)).toEqual({ deleted: 0, conversations: 0, more: false });
      // 12 500 + 300 s: seqs 1 and 2 (sent at 11 000 and 12 000) are due, in passes of one.
      const now = 12_500 + 300_000;
      expect(await repo.deleteExpired(now, 1)).toEqual({ deleted: 1, conversations: 1, more: true });
      expect(await repo.deleteExpired(now, 1)).toEqual({ deleted: 1, conversations: 1, more: false });
      expect(await repo.deleteExpired(now, 100)).toEqual({ deleted: 0, conversations: 0, more: false });
      expect(await repo.getConversation(d.id)).toMatchObject({ minSeq: 3, lastSeq: 6 });
      expect((await repo.listMessages(d.id, { limit: 10, direction: "forward" })).map((m) => m.seq)).toEqual([3, 4, 5, 6]);
      expect(await repo.referencedMedia(["m_two", "m_five"])).toEqual(new Set(["m_five"]));
      // Everything, the system message included, once its time has come; a permanent conversation keeps all.
      expect(await repo.deleteExpired(16_000 + 300_001, 100)).toEqual({ deleted: 4, conversations: 1, more: false });
      expect(await repo.getConversation(d.id)).toMatchObject({ minSeq: 7, lastSeq: 6 });
      expect(await repo.listMessages(d.id, { limit: 10, direction: "forward" })).toEqual([]);
      expect(await repo.referencedMedia(["m_five"])).toEqual(new Set());
      expect((await repo.listMessages(permanent.id, { limit: 10, direction: "forward" })).map((m) => m.seq)).toEqual([1]);
      // The next message continues the seq; nothing below min_seq comes back.
      expect((await send(d.id, "after", "bob", "phone", 400_000)).message.seq).toBe(7);
    });

    it("lists held store-and-forward conversations, reads devices' delivered marks, and deletes a delivered prefix only while the mode holds", async () => {
      const media = create(MediaRefSchema, { mediaId: "m_sf", mimeType: "image/png" });
      const d = await repo.openDirect("alice", "bob", 1000, false);
      const other = await repo.openDirect("alice", "carol", 1000, false);
      expect(await repo.storeAndForwardHeld("", 10)).toEqual([]);
      await send(d.id, "s1", "alice", "phone", 11_000);
      await send(d.id, "s2", "alice", "phone", 12_000, { kind: "media", media });
      await repo.setRetention({ conversationId: d.id, actorUserId: "bob", retention: { mode: "store_and_forward", ttlSeconds: 0 }, now: 13_000 });
      await send(other.id, "o1", "alice", "phone", 14_000);
      expect((await repo.storeAndForwardHeld("", 10)).map((c) => c.id)).toEqual([d.id]);
      expect(await repo.storeAndForwardHeld(d.id, 10)).toEqual([]);

      await repo.updateCursor(d.id, "bob", "tablet", 2, 0);
      await repo.updateCursor(d.id, "bob", "phone", 3, 1);
      const marks = await repo.deliveredByDevice(d.id, [
        { userId: "bob", deviceId: "tablet" },
        { userId: "bob", deviceId: "phone" },
        { userId: "bob", deviceId: "never" },
        { userId: "carol", deviceId: "tablet" },
      ]);
      expect(marks.sort((a, b) => a.deviceId.localeCompare(b.deviceId))).toEqual([
        { userId: "bob", deviceId: "phone", deliveredSeq: 3 },
        { userId: "bob", deviceId: "tablet", deliveredSeq: 2 },
      ]);

      // Through 2 (the media message): its reference goes with it, min_seq moves to 3.
      expect(await repo.deleteThrough(d.id, 2, "store_and_forward")).toBe(2);
      expect(await repo.getConversation(d.id)).toMatchObject({ minSeq: 3, lastSeq: 3 });
      expect((await repo.listMessages(d.id, { limit: 10, direction: "forward" })).map((m) => m.seq)).toEqual([3]);
      expect(await repo.referencedMedia(["m_sf"])).toEqual(new Set());
      expect(await repo.deleteThrough(d.id, 2, "store_and_forward")).toBe(0);
      // Beyond the last seq is capped at it; then nothing is held.
      expect(await repo.deleteThrough(d.id, 99, "store_and_forward")).toBe(1);
      expect(await repo.getConversation(d.id)).toMatchObject({ minSeq: 4, lastSeq: 3 });
      expect(await repo.storeAndForwardHeld("", 10)).toEqual([]);

      // Once the conversation is permanent again, nothing is deleted whatever the caller read.
      await send(d.id, "s4", "alice", "phone", 15_000);
      await repo.setRetention({ conversationId: d.id, actorUserId: "bob", retention: { mode: "permanent", ttlSeconds: 0 }, now: 16_000 });
      expect(await repo.deleteThrough(d.id, 5, "store_and_forward")).toBe(0);
      expect(await repo.deleteThrough(other.id, 1, "store_and_forward")).toBe(0);
      expect((await repo.listMessages(d.id, { limit: 10, direction: "forward" })).map((m) => m.seq)).toEqual([4, 5]);
    });

    it("commits archived segments at the boundary in place of their live rows, and keeps the index, the garbage list and the candidates", async () => {
      const d = await repo.openDirect("alice", "bob", 1000, false);
      for (let i = 1; i <= 5; i++) await send(d.id, `a${i}`, "alice", "phone", 1000 + i, i === 2 ? { kind: "media", media: create(MediaRefSchema, { mediaId: "m_arch" }) } : undefined);
      const entry = (fromSeq: number, toSeq: number, key: string, count = toSeq - fromSeq + 1) => ({
        conversationId: d.id, fromSeq, toSeq, key, sha256: "0".repeat(64), count, bytes: 10, firstSentAt: 1000 + fromSeq, lastSentAt: 1000 + toSeq,
      });
      expect(await repo.archiveCandidates("", 10, 3)).toEqual([{ conversationId: d.id, fromSeq: 1 }]);
      expect(await repo.archiveCandidates("", 10, 6)).toEqual([]);
      // Not at the boundary; rows that are not all there.
      await expect(repo.commitSegment(entry(2, 3, "k23"))).rejects.toMatchObject({ kind: "failed_precondition" });
      await expect(repo.commitSegment(entry(1, 3, "k13", 2))).rejects.toMatchObject({ kind: "aborted" });
      await repo.commitSegment(entry(1, 3, "k13"));
      expect(await repo.segmentIndex(d.id)).toEqual([entry(1, 3, "k13")]);
      expect((await repo.listMessages(d.id, { limit: 10, direction: "forward" })).map((m) => m.seq)).toEqual([4, 5]);
      // The archived media stays referenced; the next boundary is 4.
      expect(await repo.referencedMedia(["m_arch"])).toEqual(new Set(["m_arch"]));
      expect(await repo.archiveCandidates("", 10, 2)).toEqual([{ conversationId: d.id, fromSeq: 4 }]);
      await expect(repo.commitSegment(entry(1, 3, "again"))).rejects.toMatchObject({ kind: "failed_precondition" });
      await expect(repo.commitSegment({ ...entry(1, 1, "x"), conversationId: "c_nope" })).rejects.toMatchObject({ kind: "not_found" });

      // A retention change that deletes through 2 leaves the segment partly below min_seq.
      expect(await repo.segmentsBelowMinSeq(10)).toEqual([]);
      expect(await repo.archivedDisappearing("", 10)).toEqual([]);
      await repo.setRetention({ conversationId: d.id, actorUserId: "alice", retention: { mode: "disappearing", ttlSeconds: 300 }, now: 2000 });
      expect((await repo.archivedDisappearing("", 10)).map((c) => c.id)).toEqual([d.id]);
      expect(await repo.archiveCandidates("", 10, 1)).toEqual([]);
      expect(await repo.deleteThrough(d.id, 2, "disappearing")).toBe(2);
      expect(await repo.referencedMedia(["m_arch"])).toEqual(new Set());
      expect(await repo.segmentsBelowMinSeq(10)).toEqual([entry(1, 3, "k13")]);
      // What is left of it replaces it; the old key goes on the garbage list.
      await repo.replaceSegment(entry(1, 3, "k13"), entry(3, 3, "k33"));
      await expect(repo.replaceSegment(entry(1, 3, "k13"), undefined)).rejects.toMatchObject({ kind: "aborted" });
      expect(await repo.segmentIndex(d.id)).toEqual([entry(3, 3, "k33")]);
      expect(await repo.segmentsBelowMinSeq(10)).toEqual([]);
      expect(await repo.archiveGarbage(10)).toEqual(["k13"]);
      await repo.forgetGarbage(["k13"]);
      expect(await repo.archiveGarbage(10)).toEqual([]);
      // Deleting through the live rows leaves the whole segment below min_seq: dropped.
      expect(await repo.deleteThrough(d.id, 4, "disappearing")).toBe(2);
      expect(await repo.archivedDisappearing("", 10)).toEqual([]);
      expect(await repo.segmentsBelowMinSeq(10)).toEqual([entry(3, 3, "k33")]);
      await repo.replaceSegment(entry(3, 3, "k33"), undefined);
      expect(await repo.segmentIndex(d.id)).toEqual([]);
      expect(await repo.archiveGarbage(10)).toEqual(["k33"]);
      expect((await repo.listMessages(d.id, { limit: 10, direction: "forward" })).map((m) => m.seq)).toEqual([5, 6]);
    });

    it("counts archived messages that a disappearing pass deletes below its first live message", async () => {
      const d = await repo.openDirect("alice", "bob", 1000, false);
      for (let i = 1; i <= 5; i++) await send(d.id, `e${i}`, "alice", "phone", 1000 + i);
      const segment = { conversationId: d.id, fromSeq: 1, toSeq: 3, key: "k", sha256: "0".repeat(64), count: 3, bytes: 1, firstSentAt: 1001, lastSentAt: 1003 };
      await repo.commitSegment(segment);
      await repo.setRetention({ conversationId: d.id, actorUserId: "alice", retention: { mode: "disappearing", ttlSeconds: 300 }, now: 1006 });
      expect(await repo.deleteExpired(1006 + 300_001, 100)).toEqual({ deleted: 6, conversations: 1, more: false });
      expect(await repo.getConversation(d.id)).toMatchObject({ minSeq: 7 });
      expect(await repo.segmentsBelowMinSeq(10)).toEqual([segment]);
    });

    describe("push outbox", () => {
      const lease = 1_000;
      /** Everything claimable at `now`, whatever its age. */
      const claimAll = (now: number) => repo.claimPushOutbox(now, lease, Number.MAX_SAFE_INTEGER, 100);

      it("holds an entry for every new message, sent or system, written with it; a duplicate adds none", async () => {
        const d = await repo.openDirect("alice", "bob", 1000, false);
        const first = await send(d.id, "c1", "alice", "phone", 2000);
        const again = await send(d.id, "c1", "alice", "phone", 2500);
        expect(again.duplicate).toBe(true);
        const second = await send(d.id, "c2", "bob", "laptop", 3000);
        const g = await createGroup("grp_outbox", ["bob"]);
        const claim = await claimAll(10_000);
        expect(claim.entries).toEqual([
          { conversationId: "grp_outbox", seq: 1, messageId: g.event.id, senderUserId: "owner", sentAt: 100 },
          { conversationId: d.id, seq: 1, messageId: first.message.id, senderUserId: "alice", sentAt: 2000 },
          { conversationId: d.id, seq: 2, messageId: second.message.id, senderUserId: "bob", sentAt: 3000 },
        ]);
        expect(claim.oldestSentAt).toBe(100);
      });

      it("writes no entry for a send that was refused", async () => {
        const d = await repo.openDirect("alice", "bob", 1000, false);
        const [out] = await repo.append([item(d.id, "x", "mallory", "phone", 2000)]);
        expect(out).toMatchObject({ ok: false, refused: true });
        expect(await claimAll(10_000)).toEqual({ entries: [], oldestSentAt: undefined });
      });

      it("leases an entry to one caller until its lease runs out, leaves younger entries, and takes the oldest first up to the limit", async () => {
        const d = await repo.openDirect("alice", "bob", 1000, false);
        for (let i = 1; i <= 4; i++) await send(d.id, `m${i}`, "alice", "phone", 1000 * i);
        const seqs = (c: { entries: { seq: number }[] }) => c.entries.map((e) => e.seq);
        // Only what was stored before 3000, and only two of those.
        expect(seqs(await repo.claimPushOutbox(5_000, lease, 3_000, 1))).toEqual([1]);
        expect(seqs(await repo.claimPushOutbox(5_000, lease, 3_000, 10))).toEqual([2]);
        // Leased until 6000: nobody else gets 1 or 2 meanwhile, while 3 and 4 are free.
        const other = await repo.claimPushOutbox(5_500, lease, 10_000, 10);
        expect(seqs(other)).toEqual([3, 4]);
        expect(other.oldestSentAt).toBe(1000);
        expect(seqs(await repo.claimPushOutbox(5_999, lease, 10_000, 10))).toEqual([]);
        // A lease that ran out (its holder died) lets the entry be claimed again.
        expect(seqs(await repo.claimPushOutbox(6_000, lease, 10_000, 10))).toEqual([1, 2]);
      });

      it("deletes acknowledged entries and ignores unknown keys", async () => {
        const d = await repo.openDirect("alice", "bob", 1000, false);
        for (let i = 1; i <= 3; i++) await send(d.id, `m${i}`, "alice", "phone", 1000 * i);
        await repo.ackPushOutbox([{ conversationId: d.id, seq: 1 }, { conversationId: d.id, seq: 3 }, { conversationId: "nowhere", seq: 9 }]);
        await repo.ackPushOutbox([]);
        const left = await claimAll(10_000);
        expect(left.entries.map((e) => e.seq)).toEqual([2]);
        expect(left.oldestSentAt).toBe(2000);
        await repo.ackPushOutbox([{ conversationId: d.id, seq: 2 }]);
        expect(await claimAll(20_000)).toEqual({ entries: [], oldestSentAt: undefined });
      });
    });
  });
}
