import { Code, ConnectError } from "@connectrpc/connect";
import { MemberRole, type Message } from "@messenger/proto/chat/v1/types";
import { Direction } from "@messenger/proto/history/v1/history_service";
import { codeOf, eventually } from "@messenger/testing";
import { startTestSystem, type TestSystem } from "@messenger/test-system";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { api, registerUser, registerUsers, textOf, type Api, type ApiUser } from "../support/api-user.js";
import { RawMember } from "../support/raw-member.js";

let sys: TestSystem;
let a: Api;
const members: RawMember[] = [];
beforeAll(async () => {
  sys = await startTestSystem({ MAX_GROUP_MEMBERS: "1024", LARGE_GROUP_THRESHOLD: "256", CONVERSATION_UPDATE_WINDOW_MS: "100" });
  a = api(sys.grpcUrl);
});
afterEach(() => {
  for (const m of members.splice(0)) m.close();
});
afterAll(async () => {
  a.close();
  await sys.dispose();
});


/** A raw-stream device of a user, connected. */
async function device(u: ApiUser, deviceId = "raw"): Promise<RawMember> {
  const token = deviceId === "raw" ? u.token : await u.tokenFor(deviceId);
  const m = new RawMember(u.id, async () => token);
  members.push(m);
  await m.connect(sys.grpcPort);
  return m;
}

/** Sends text from a raw device: the stored message, or its refusal as an error. */
async function send(m: RawMember, conversationId: string, text: string): Promise<Message> {
  const r = await m.sendText(conversationId, text);
  if (r.errorCode !== 0 || !r.message) throw new ConnectError(r.errorMessage, r.errorCode);
  return r.message;
}

const systemKind = (m: Message): string => (m.body.case === "system" ? (m.body.value.event.case ?? "") : m.body.case ?? "");

async function visibleSeqs(u: ApiUser, conversationId: string): Promise<number[]> {
  const page = await a.history.listMessages({ conversationId, direction: Direction.FORWARD, pageSize: 500 }, u.auth);
  return page.messages.map((m) => Number(m.seq));
}

describe("groups: lifecycle and permissions", () => {
  it("creates a group whose first message is group_created, with the caller as owner", async () => {
    const [owner, bob, carol] = await registerUsers(a, 3);
    const res = await a.groups.createGroup({ title: "Climbing", memberUserIds: [bob.id, carol.id] }, owner.auth);
    const conv = res.conversation!;
    expect(res.event!.seq).toBe(1n);
    expect(systemKind(res.event!)).toBe("groupCreated");
    expect(conv.title).toBe("Climbing");
    expect(conv.memberCount).toBe(3);
    expect(conv.role).toBe(MemberRole.OWNER);
    const listed = await a.groups.listMembers({ conversationId: conv.id }, bob.auth);
    expect(listed.members.map((m) => [m.userId, m.role]).sort()).toEqual(
      [
        [owner.id, MemberRole.OWNER],
        [bob.id, MemberRole.MEMBER],
        [carol.id, MemberRole.MEMBER],
      ].sort(),
    );
    const inbox = await a.history.listConversations({}, carol.auth);
    expect(inbox.conversations.map((c) => c.id)).toContain(conv.id);
  });

  it("refuses every forbidden change with a clear status and changes nothing", async () => {
    const [owner, admin, m1, m2, outsider, extra] = await registerUsers(a, 6);
    const conv = (await a.groups.createGroup({ title: "Rules", memberUserIds: [admin.id, m1.id, m2.id] }, owner.auth)).conversation!;
    await a.groups.setMemberRole({ conversationId: conv.id, userId: admin.id, role: MemberRole.ADMIN }, owner.auth);
    const before = (await a.groups.getGroup({ conversationId: conv.id }, owner.auth)).conversation!;
    const id = conv.id;
    const refusals = {
      "outsider adds": await codeOf(a.groups.addMembers({ conversationId: id, userIds: [extra.id] }, outsider.auth)),
      "member adds": await codeOf(a.groups.addMembers({ conversationId: id, userIds: [extra.id] }, m1.auth)),
      "member removes": await codeOf(a.groups.removeMember({ conversationId: id, userId: m2.id }, m1.auth)),
      "member renames": await codeOf(a.groups.updateGroupInfo({ conversationId: id, title: "x" }, m1.auth)),
      "admin removes owner": await codeOf(a.groups.removeMember({ conversationId: id, userId: owner.id }, admin.auth)),
      "admin sets a role": await codeOf(a.groups.setMemberRole({ conversationId: id, userId: m1.id, role: MemberRole.ADMIN }, admin.auth)),
      "admin transfers": await codeOf(a.groups.transferOwnership({ conversationId: id, userId: admin.id }, admin.auth)),
      "owner leaves": await codeOf(a.groups.leaveGroup({ conversationId: id }, owner.auth)),
      "unknown user added": await codeOf(a.groups.addMembers({ conversationId: id, userIds: ["no-such-user"] }, owner.auth)),
      "member added twice": await codeOf(a.groups.addMembers({ conversationId: id, userIds: [m1.id] }, owner.auth)),
      "non-member removed": await codeOf(a.groups.removeMember({ conversationId: id, userId: outsider.id }, owner.auth)),
      "unknown group": await codeOf(a.groups.addMembers({ conversationId: "no-such-group", userIds: [extra.id] }, owner.auth)),
      "empty title": await codeOf(a.groups.createGroup({ title: "" }, owner.auth)),
      "outsider reads": await codeOf(a.history.listMessages({ conversationId: id }, outsider.auth)),
      "no token": await codeOf(a.groups.createGroup({ title: "t" })),
    };
    expect(refusals).toEqual({
      "outsider adds": "PermissionDenied",
      "member adds": "PermissionDenied",
      "member removes": "PermissionDenied",
      "member renames": "PermissionDenied",
      "admin removes owner": "PermissionDenied",
      "admin sets a role": "PermissionDenied",
      "admin transfers": "PermissionDenied",
      "owner leaves": "FailedPrecondition",
      "unknown user added": "NotFound",
      "member added twice": "AlreadyExists",
      "non-member removed": "NotFound",
      "unknown group": "NotFound",
      "empty title": "InvalidArgument",
      "outsider reads": "PermissionDenied",
      "no token": "Unauthenticated",
    });
    const after = (await a.groups.getGroup({ conversationId: id }, owner.auth)).conversation!;
    expect([after.lastSeq, after.memberCount, after.title]).toEqual([before.lastSeq, before.memberCount, before.title]);

    // What is allowed: an admin removes a member, the owner hands over and then may leave.
    await a.groups.removeMember({ conversationId: id, userId: m2.id }, admin.auth);
    await a.groups.transferOwnership({ conversationId: id, userId: admin.id }, owner.auth);
    await a.groups.leaveGroup({ conversationId: id }, owner.auth);
    const roles = (await a.groups.listMembers({ conversationId: id }, admin.auth)).members.map((m) => [m.userId, m.role]);
    expect(roles.sort()).toEqual(
      [
        [admin.id, MemberRole.OWNER],
        [m1.id, MemberRole.MEMBER],
      ].sort(),
    );
  });

  it("refuses a group over MAX_GROUP_MEMBERS with RESOURCE_EXHAUSTED, on create and on add", async () => {
    const small = await startTestSystem({ MAX_GROUP_MEMBERS: "3" });
    const s = api(small.grpcUrl);
    try {
      const [owner, b, c, d] = await registerUsers(s, 4);
      expect(await codeOf(s.groups.createGroup({ title: "big", memberUserIds: [b.id, c.id, d.id] }, owner.auth))).toBe("ResourceExhausted");
      const conv = (await s.groups.createGroup({ title: "ok", memberUserIds: [b.id, c.id] }, owner.auth)).conversation!;
      expect(await codeOf(s.groups.addMembers({ conversationId: conv.id, userIds: [d.id] }, owner.auth))).toBe("ResourceExhausted");
      expect((await s.groups.getGroup({ conversationId: conv.id }, owner.auth)).conversation!.memberCount).toBe(3);
    } finally {
      s.close();
      await small.dispose();
    }
  });
});

describe("groups: one membership history on every device", () => {
  it("every device sees the same system messages, in the conversation's seq order", async () => {
    const [owner, bob, carol, dave] = await registerUsers(a, 4);
    const conv = (await a.groups.createGroup({ title: "Order", memberUserIds: [bob.id, carol.id] }, owner.auth)).conversation!;
    const devices = [await device(owner), await device(bob), await device(bob, "laptop"), await device(carol)];
    await a.groups.addMembers({ conversationId: conv.id, userIds: [dave.id] }, owner.auth);
    await send(devices[1]!, conv.id, "hello all");
    await a.groups.setMemberRole({ conversationId: conv.id, userId: bob.id, role: MemberRole.ADMIN }, owner.auth);
    await a.groups.updateGroupInfo({ conversationId: conv.id, title: "Order!", description: "new" }, bob.auth);
    await a.groups.removeMember({ conversationId: conv.id, userId: dave.id }, bob.auth);
    await send(devices[3]!, conv.id, "bye dave");
    const expected = ["groupCreated", "membersAdded", "text", "roleChanged", "infoChanged", "memberRemoved", "text"];
    const history = (await a.history.listMessages({ conversationId: conv.id, direction: Direction.FORWARD }, owner.auth)).messages;
    expect(history.map(systemKind)).toEqual(expected);
    expect(history.map((m) => Number(m.seq))).toEqual([1, 2, 3, 4, 5, 6, 7]);
    // Each device got every message it did not send itself (the first one through its replay), in order.
    const sentBy = new Map([
      [devices[1], 3],
      [devices[3], 7],
    ]);
    for (const d of devices) {
      const own = sentBy.get(d);
      const want = [1, 2, 3, 4, 5, 6, 7].filter((s) => s !== own).map(BigInt);
      await eventually(() => d.audit(conv.id, want).lost === 0, `device of ${d.userId} gets every change`);
      expect(d.audit(conv.id, want)).toEqual({ lost: 0, duplicated: 0, outOfOrder: 0 });
      expect(d.ledger(conv.id).seqs).toEqual(want);
    }
  });

  it("a removed member gets nothing after the removal, live or through history or sync, and a re-added member sees the new range only", async () => {
    const [owner, bob] = await registerUsers(a, 2);
    const conv = (await a.groups.createGroup({ title: "Ranges", memberUserIds: [bob.id] }, owner.auth)).conversation!;
    const o = await device(owner);
    const b = await device(bob);
    await send(o, conv.id, "before");
    const removal = (await a.groups.removeMember({ conversationId: conv.id, userId: bob.id }, owner.auth)).event!;
    for (const t of ["after 1", "after 2"]) await send(o, conv.id, t);
    await eventually(() => b.ledger(conv.id).seqs.includes(removal.seq), "bob gets his own removal");
    // Bob sends: refused, nothing stored.
    expect(await codeOf(send(b, conv.id, "am I in?"))).toBe("PermissionDenied");
    const last = (await a.history.listMessages({ conversationId: conv.id }, owner.auth)).lastSeq;
    expect(last).toBe(removal.seq + 2n);
    // A later message to the group must not reach bob: wait for owner's second device to get it first.
    const o2 = await device(owner, "tablet");
    const probe = await send(o, conv.id, "probe");
    await eventually(() => o2.ledger(conv.id).seqs.includes(probe.seq), "another member's device gets the probe");
    expect(b.ledger(conv.id).seqs.every((s) => s <= removal.seq)).toBe(true);
    expect(await visibleSeqs(bob, conv.id)).toEqual([1, 2, 3]);
    const bobView = (await a.history.getConversation({ conversationId: conv.id }, bob.auth)).conversation!;
    expect([bobView.isMember, bobView.lastSeq]).toEqual([false, removal.seq]);
    // A fresh device of bob syncs from nothing: only his range.
    const fresh = await device(bob, "new-phone");
    expect(fresh.ledger(conv.id).seqs).toEqual([1n, 2n, 3n]);

    const readd = (await a.groups.addMembers({ conversationId: conv.id, userIds: [bob.id] }, owner.auth)).event!;
    const back = await send(o, conv.id, "welcome back");
    await eventually(() => b.ledger(conv.id).seqs.includes(back.seq), "bob gets messages of his new range live");
    expect(b.ledger(conv.id).seqs.filter((s) => s > removal.seq)).toEqual([readd.seq, back.seq]);
    expect(b.audit(conv.id, [2n, 3n, readd.seq, back.seq])).toEqual({ lost: 0, duplicated: 0, outOfOrder: 0 });
    const seen = await visibleSeqs(bob, conv.id);
    expect(seen).toEqual([1, 2, 3, Number(readd.seq), Number(back.seq)]);
    // A backward page from the end skips the seqs outside bob's ranges too.
    const page = await a.history.listMessages({ conversationId: conv.id, direction: Direction.BACKWARD, pageSize: 3 }, bob.auth);
    expect(page.messages.map((m) => Number(m.seq))).toEqual([3, Number(readd.seq), Number(back.seq)]);
    expect(page.hasMore).toBe(true);
    // Bob resumes on another stream from his cursor: nothing between his ranges is replayed.
    b.close();
    await send(o, conv.id, "while away");
    await b.connect(sys.grpcPort);
    expect(b.audit(conv.id, [2n, 3n, readd.seq, back.seq, back.seq + 1n])).toEqual({ lost: 0, duplicated: 0, outOfOrder: 0 });
  });
});

describe("groups: receipts", () => {
  it("shows the sender delivered-to-all / read-by-all watermarks and who read a message", async () => {
    const [alice, bob, carol, dave] = await registerUsers(a, 4);
    const conv = (await a.groups.createGroup({ title: "Receipts", memberUserIds: [bob.id, carol.id, dave.id] }, alice.auth)).conversation!;
    const [al, bo, ca, da] = [await device(alice), await device(bob), await device(carol), await device(dave)];
    const m = await send(al, conv.id, "did you read this?");
    for (const d of [bo, ca, da]) d.send({ frame: { case: "ack", value: { conversationId: conv.id, seq: m.seq } } });
    for (const d of [bo, ca]) d.send({ frame: { case: "read", value: { conversationId: conv.id, seq: m.seq } } });
    const summaries = () => al.frames.flatMap((f) => (f.frame.case === "receipt" && f.frame.value.conversationId === conv.id && f.frame.value.summary ? [f.frame.value.summary] : []));
    await eventually(() => summaries().some((s) => s.deliveredAllSeq === m.seq), "alice sees delivered to all");
    await eventually(async () => (await a.history.listReadBy({ conversationId: conv.id, seq: m.seq }, alice.auth)).readCount === 2, "two readers");
    const readBy = await a.history.listReadBy({ conversationId: conv.id, seq: m.seq }, alice.auth);
    expect([readBy.userIds.sort(), readBy.readCount, readBy.memberCount]).toEqual([[bob.id, carol.id].sort(), 2, 3]);
    expect(summaries().every((s) => s.readAllSeq < m.seq)).toBe(true);
    da.send({ frame: { case: "read", value: { conversationId: conv.id, seq: m.seq } } });
    await eventually(() => summaries().some((s) => s.readAllSeq === m.seq), "alice sees read by all");
    const perMember = al.frames.flatMap((f) => (f.frame.case === "receipt" && f.frame.value.conversationId === conv.id ? [f.frame.value.receipt!.userId] : []));
    expect(new Set(perMember)).toEqual(new Set([bob.id, carol.id, dave.id]));
  });
});

describe("groups: large groups", () => {
  it("creates and messages a 1,000-member group; online members get a coalesced conversation_updated and pull through history", async () => {
    const owner = await registerUser(a);
    const others: ApiUser[] = [];
    for (let i = 0; i < 999; i += 50) others.push(...(await Promise.all(Array.from({ length: Math.min(50, 999 - i) }, () => registerUser(a)))));
    const conv = (await a.groups.createGroup({ title: "Everyone", memberUserIds: others.map((u) => u.id) }, owner.auth)).conversation!;
    expect([conv.memberCount, conv.large]).toEqual([1000, true]);
    let listed = 0;
    let pageToken = "";
    do {
      const page = await a.groups.listMembers({ conversationId: conv.id, pageSize: 400, pageToken }, others[500]!.auth);
      listed += page.members.length;
      pageToken = page.nextPageToken;
    } while (pageToken);
    expect(listed).toBe(1000);
    const watchers = [await device(others[0]!), await device(others[998]!)];
    const o = await device(owner);
    const sent: Message[] = [];
    for (let i = 0; i < 5; i++) sent.push(await send(o, conv.id, `news ${i}`));
    const last = sent.at(-1)!.seq;
    for (const w of watchers) {
      await eventually(() => w.frames.some((f) => f.frame.case === "conversationUpdated" && f.frame.value.lastSeq === last), "the signal");
      const signals = w.frames.filter((f) => f.frame.case === "conversationUpdated");
      expect(signals.length).toBeLessThan(5);
      expect(w.ledger(conv.id).seqs).toEqual([]);
    }
    const pulled = await a.history.listMessages({ conversationId: conv.id, anchorSeq: 1n, direction: Direction.FORWARD }, others[0]!.auth);
    expect(pulled.messages.map(textOf)).toEqual(sent.map(textOf));
  }, 120_000);
});
