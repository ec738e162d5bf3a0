import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { MessageRequestPolicy, PresenceVisibility, RequestDirection } from "@messenger/proto/accounts/v1/contacts_service";
import { Folder } from "@messenger/proto/history/v1/history_service";
import { codeOf, eventually } from "@messenger/testing";
import { startTestSystem, type TestSystem } from "@messenger/test-system";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { api, registerUser, registerUsers, type Api, type ApiUser } from "../support/api-user.js";
import { befriend as befriendOn, visiblePresence as visibleOn } from "../support/contacts.js";
import { RawMember } from "../support/raw-member.js";

let sys: TestSystem;
let a: Api;
const devices: RawMember[] = [];
beforeAll(async () => {
  // A short announcement window keeps the presence tests quick; coalescing itself is unit-tested.
  sys = await startTestSystem({ PRESENCE_ANNOUNCE_WINDOW_MS: "50" });
  a = api(sys.grpcUrl);
});
afterEach(() => {
  for (const d of devices.splice(0)) d.close();
});
afterAll(async () => {
  a.close();
  await sys.dispose();
});


/** A raw-stream device of a user, connected (it records every frame, presence included). */
async function device(u: ApiUser): Promise<RawMember> {
  const m = new RawMember(u.id, async () => u.token);
  devices.push(m);
  await m.connect(sys.grpcPort);
  return m;
}

const befriend = (x: ApiUser, y: ApiUser): Promise<void> => befriendOn(a, x, y);
const visiblePresence = (viewer: ApiUser, of: ApiUser) => visibleOn(a, viewer, of.id);

/** The presence states a device was pushed about a user, in order. */
function presencePushes(d: RawMember, userId: string): boolean[] {
  return d.frames.flatMap((f) => (f.frame.case === "presence" && f.frame.value.presence?.userId === userId ? [f.frame.value.presence.online] : []));
}


async function folderIds(u: ApiUser, folder: Folder): Promise<string[]> {
  return (await a.history.listConversations({ folder, pageSize: 200 }, u.auth)).conversations.map((c) => c.id);
}

describe("contact requests", () => {
  it("ask, accept: both list each other; duplicates, self and unknown users are refused", async () => {
    const [ann, ben] = await registerUsers(a, 2);
    expect((await a.contacts.sendContactRequest({ userId: ben.id }, ann.auth)).accepted).toBe(false);
    expect(await codeOf(a.contacts.sendContactRequest({ userId: ben.id }, ann.auth))).toBe("AlreadyExists");
    expect(await codeOf(a.contacts.sendContactRequest({ userId: ann.id }, ann.auth))).toBe("InvalidArgument");
    expect(await codeOf(a.contacts.sendContactRequest({ userId: "u_nobody" }, ann.auth))).toBe("NotFound");

    const incoming = await a.contacts.listContactRequests({ direction: RequestDirection.INCOMING }, ben.auth);
    expect(incoming.requests.map((r) => r.user?.username)).toEqual([ann.username]);
    const outgoing = await a.contacts.listContactRequests({ direction: RequestDirection.OUTGOING }, ann.auth);
    expect(outgoing.requests.map((r) => r.user?.username)).toEqual([ben.username]);

    await a.contacts.acceptContactRequest({ userId: ann.id }, ben.auth);
    expect((await a.contacts.listContacts({}, ann.auth)).contacts.map((c) => c.user?.id)).toEqual([ben.id]);
    expect((await a.contacts.listContacts({}, ben.auth)).contacts.map((c) => c.user?.id)).toEqual([ann.id]);
    expect(await codeOf(a.contacts.sendContactRequest({ userId: ann.id }, ben.auth))).toBe("AlreadyExists");
    expect((await a.contacts.listContactRequests({ direction: RequestDirection.INCOMING }, ben.auth)).requests).toEqual([]);
  });

  it("a request to someone who already asked makes both contacts at once", async () => {
    const [ann, ben] = await registerUsers(a, 2);
    await a.contacts.sendContactRequest({ userId: ben.id }, ann.auth);
    expect((await a.contacts.sendContactRequest({ userId: ann.id }, ben.auth)).accepted).toBe(true);
    expect((await a.contacts.listContacts({}, ann.auth)).contacts.map((c) => c.user?.id)).toEqual([ben.id]);
  });

  it("decline and cancel drop the request; accepting what is gone is NOT_FOUND", async () => {
    const [ann, ben, cid] = await registerUsers(a, 3);
    await a.contacts.sendContactRequest({ userId: ben.id }, ann.auth);
    await a.contacts.declineContactRequest({ userId: ann.id }, ben.auth);
    expect(await codeOf(a.contacts.acceptContactRequest({ userId: ann.id }, ben.auth))).toBe("NotFound");
    await a.contacts.sendContactRequest({ userId: cid.id }, ann.auth);
    await a.contacts.cancelContactRequest({ userId: cid.id }, ann.auth);
    expect(await codeOf(a.contacts.acceptContactRequest({ userId: ann.id }, cid.auth))).toBe("NotFound");
    expect(await codeOf(a.contacts.cancelContactRequest({ userId: cid.id }, ann.auth))).toBe("NotFound");
    expect((await a.contacts.listContacts({}, ann.auth)).contacts).toEqual([]);
  });

  it("requests to or from a blocked user are refused", async () => {
    const [ann, ben] = await registerUsers(a, 2);
    await a.contacts.block({ userId: ann.id }, ben.auth);
    expect(await codeOf(a.contacts.sendContactRequest({ userId: ben.id }, ann.auth))).toBe("PermissionDenied");
    expect(await codeOf(a.contacts.sendContactRequest({ userId: ann.id }, ben.auth))).toBe("FailedPrecondition");
  });

  it("lists contacts and requests page by page, each once", async () => {
    const hub = await registerUser(a);
    const askers = await registerUsers(a, 5);
    for (const u of askers) await a.contacts.sendContactRequest({ userId: hub.id }, u.auth);
    const seen: string[] = [];
    let token = "";
    do {
      const page = await a.contacts.listContactRequests({ direction: RequestDirection.INCOMING, pageSize: 2, pageToken: token }, hub.auth);
      expect(page.requests.length).toBeLessThanOrEqual(2);
      seen.push(...page.requests.map((r) => r.user!.id));
      token = page.nextPageToken;
    } while (token);
    // Each once, newest first (requests made within one millisecond may come in either order).
    expect([...seen].sort()).toEqual(askers.map((u) => u.id).sort());
    const sentAt = (await a.contacts.listContactRequests({ direction: RequestDirection.INCOMING, pageSize: 500 }, hub.auth)).requests.map((r) => r.sentAt!);
    for (let i = 1; i < sentAt.length; i++) expect(sentAt[i]!.seconds * 1000n + BigInt(sentAt[i]!.nanos) / 1_000_000n).toBeLessThanOrEqual(sentAt[i - 1]!.seconds * 1000n + BigInt(sentAt[i - 1]!.nanos) / 1_000_000n);

    for (const u of askers) await a.contacts.acceptContactRequest({ userId: u.id }, hub.auth);
    const contacts: string[] = [];
    token = "";
    do {
      const page = await a.contacts.listContacts({ pageSize: 2, pageToken: token }, hub.auth);
      contacts.push(...page.contacts.map((c) => c.user!.username));
      token = page.nextPageToken;
    } while (token);
    expect(contacts).toEqual(askers.map((u) => u.username).sort());
  });
});

describe("blocking", () => {
  it("the blocked user cannot open a direct conversation with the blocker; the blocker may open it but not send", async () => {
    const [ann, ben] = await registerUsers(a, 2);
    await a.contacts.block({ userId: ann.id }, ben.auth);
    expect(await codeOf(a.history.openDirectConversation({ peerUserId: ben.id }, ann.auth))).toBe("PermissionDenied");
    const conv = (await a.history.openDirectConversation({ peerUserId: ann.id }, ben.auth)).conversation!;
    const benDevice = await device(ben);
    const refused = await benDevice.sendText(conv.id, "hello?");
    expect(refused.errorCode).toBe(Code.PermissionDenied);
    expect((await a.history.getConversation({ conversationId: conv.id }, ben.auth)).conversation?.lastSeq).toBe(0n);
  });

  it("a send into the blocker's conversation is PERMISSION_DENIED in send_result and stores nothing; unblock restores it", async () => {
    const [ann, ben] = await registerUsers(a, 2);
    await befriend(ann, ben);
    const conv = (await a.history.openDirectConversation({ peerUserId: ben.id }, ann.auth)).conversation!;
    const annDevice = await device(ann);
    expect((await annDevice.sendText(conv.id, "one")).errorCode).toBe(0);

    await a.contacts.block({ userId: ann.id }, ben.auth);
    const refused = await annDevice.sendText(conv.id, "two");
    expect(refused.errorCode).toBe(Code.PermissionDenied);
    expect(refused.message).toBeUndefined();
    // Nothing stored: the conversation still ends at the first message, for both.
    for (const u of [ann, ben]) expect((await a.history.getConversation({ conversationId: conv.id }, u.auth)).conversation?.lastSeq).toBe(1n);

    // Typing is refused too: ann gets a frame error, and ben's device is sent nothing.
    const benDevice = await device(ben);
    const typingRefused = await annDevice.request({ frame: { case: "typing", value: { conversationId: conv.id, typing: true } } }, (f) => f.frame.case === "error");
    expect(typingRefused.frame.value).toMatchObject({ code: Code.PermissionDenied, frame: "typing" });

    // After the unblock ann stops typing: that frame follows any refused one on the same path,
    // so once ben has it he would have had the refused "typing" too.
    await a.contacts.unblock({ userId: ann.id }, ben.auth);
    annDevice.send({ frame: { case: "typing", value: { conversationId: conv.id, typing: false } } });
    const typingSeen = (): boolean[] => benDevice.frames.flatMap((f) => (f.frame.case === "typing" ? [f.frame.value.typing] : []));
    await eventually(() => typingSeen().length > 0, "ben gets ann's typing after unblock");
    expect(typingSeen()).toEqual([false]);
    const sent = await annDevice.sendText(conv.id, "three");
    expect(sent.errorCode).toBe(0);
    expect(sent.message?.seq).toBe(2n);
    expect((await a.contacts.listContacts({}, ben.auth)).contacts.map((c) => c.user?.id)).toEqual([ann.id]);
  });

  it("the blocked user cannot add the blocker to a group, nor create one with them", async () => {
    const [ann, ben, cid] = await registerUsers(a, 3);
    await a.contacts.block({ userId: ann.id }, ben.auth);
    expect(await codeOf(a.groups.createGroup({ title: "trap", memberUserIds: [ben.id, cid.id] }, ann.auth))).toBe("PermissionDenied");
    const group = await a.groups.createGroup({ title: "fine", memberUserIds: [cid.id] }, ann.auth);
    expect(await codeOf(a.groups.addMembers({ conversationId: group.conversation!.id, userIds: [ben.id] }, ann.auth))).toBe("PermissionDenied");
    await a.contacts.unblock({ userId: ann.id }, ben.auth);
    expect(await codeOf(a.groups.addMembers({ conversationId: group.conversation!.id, userIds: [ben.id] }, ann.auth))).toBe("OK");
  });

  it("hides presence and last seen both ways while it lasts; unblock restores them", async () => {
    const [ann, ben, cid] = await registerUsers(a, 3);
    await befriend(ann, ben);
    await befriend(cid, ben);
    const annDevice = await device(ann);
    const cidDevice = await device(cid);
    await device(ben);
    await eventually(async () => (await visiblePresence(ann, ben))?.online === true, "ann sees ben online");

    await a.contacts.block({ userId: ann.id }, ben.auth);
    expect(await visiblePresence(ann, ben)).toBeUndefined();
    expect(await visiblePresence(ben, ann)).toBeUndefined();
    // Ben goes offline: his other contact is told, ann is not (the same announcement reaches both or neither).
    const annBefore = presencePushes(annDevice, ben.id).length;
    devices.find((d) => d.userId === ben.id)!.close();
    await eventually(() => presencePushes(cidDevice, ben.id).at(-1) === false, "cid sees ben offline");
    expect(presencePushes(annDevice, ben.id).length).toBe(annBefore);
    expect(await visiblePresence(ann, ben)).toBeUndefined();

    await a.contacts.unblock({ userId: ann.id }, ben.auth);
    const back = await visiblePresence(ann, ben);
    expect(back?.online).toBe(false);
    expect(back?.lastSeen).toBeGreaterThan(0n);
  });
});

describe("presence privacy", () => {
  it("opening a direct conversation or sharing a group grants nothing: a non-contact sees no presence and gets no pushes", async () => {
    const [ann, ben, cid] = await registerUsers(a, 3);
    await a.history.openDirectConversation({ peerUserId: ben.id }, ann.auth);
    await a.groups.createGroup({ title: "climbing", memberUserIds: [ben.id] }, ann.auth);
    await befriend(cid, ben);
    const annDevice = await device(ann);
    const cidDevice = await device(cid);
    await device(ben);
    await eventually(() => presencePushes(cidDevice, ben.id).at(-1) === true, "cid sees ben online");
    expect(presencePushes(annDevice, ben.id)).toEqual([]);
    expect(await visiblePresence(ann, ben)).toBeUndefined();
    expect((await visiblePresence(cid, ben))?.online).toBe(true);
  });

  it("everyone / contacts / nobody decide who sees a user", async () => {
    const [ann, ben, cid] = await registerUsers(a, 3);
    await befriend(cid, ben);
    await device(ben);
    await eventually(async () => (await visiblePresence(cid, ben))?.online === true, "cid sees ben");
    const set = (v: PresenceVisibility) =>
      a.contacts.updatePrivacySettings({ settings: { presenceVisibility: v }, updateMask: ["presence_visibility"] }, ben.auth);

    // Default: contacts.
    expect(await visiblePresence(ann, ben)).toBeUndefined();
    await set(PresenceVisibility.EVERYONE);
    expect((await visiblePresence(ann, ben))?.online).toBe(true);
    expect((await visiblePresence(cid, ben))?.online).toBe(true);
    await set(PresenceVisibility.NOBODY);
    expect(await visiblePresence(ann, ben)).toBeUndefined();
    expect(await visiblePresence(cid, ben)).toBeUndefined();
    // A user always sees themself.
    expect((await visiblePresence(ben, ben))?.online).toBe(true);
    const settings = (await a.contacts.getPrivacySettings({}, ben.auth)).settings;
    expect(settings).toMatchObject({ presenceVisibility: PresenceVisibility.NOBODY, messageRequests: MessageRequestPolicy.REQUESTS });
  });

  it("a user who shows presence to nobody is not announced even to contacts", async () => {
    const [ben, cid, dan] = await registerUsers(a, 3);
    await befriend(cid, ben);
    await befriend(dan, ben);
    await a.contacts.updatePrivacySettings({ settings: { presenceVisibility: PresenceVisibility.NOBODY }, updateMask: ["presence_visibility"] }, ben.auth);
    // Dan shows presence to contacts; his contact cid is announced of him and serves as the barrier.
    await befriend(cid, dan);
    const cidDevice = await device(cid);
    await device(ben);
    await device(dan);
    await eventually(() => presencePushes(cidDevice, dan.id).at(-1) === true, "cid sees dan online");
    expect(presencePushes(cidDevice, ben.id)).toEqual([]);
  });
});

describe("presence follows changes of who may see whom, at once", () => {
  /** The presence frames a device was pushed about a user: "online", "offline" or "hidden". */
  const pushed = (d: RawMember, userId: string): string[] =>
    d.frames.flatMap((f) =>
      f.frame.case === "presence" && f.frame.value.presence?.userId === userId
        ? [f.frame.value.presence.hidden ? "hidden" : f.frame.value.presence.online ? "online" : "offline"]
        : [],
    );

  it("a new contact is sent the other's presence; a block hides it both ways; unblock shows it again", async () => {
    const [ann, ben] = await registerUsers(a, 2);
    const annDevice = await device(ann);
    const benDevice = await device(ben);
    await befriend(ann, ben);
    await eventually(() => pushed(annDevice, ben.id).includes("online") && pushed(benDevice, ann.id).includes("online"), "each is sent the other's presence");

    await a.contacts.block({ userId: ann.id }, ben.auth);
    await eventually(() => pushed(annDevice, ben.id).at(-1) === "hidden" && pushed(benDevice, ann.id).at(-1) === "hidden", "both hidden");
    await a.contacts.unblock({ userId: ann.id }, ben.auth);
    await eventually(() => pushed(annDevice, ben.id).at(-1) === "online" && pushed(benDevice, ann.id).at(-1) === "online", "both shown again");
  });

  it("removing a contact, or showing presence to nobody, hides it from those who saw it", async () => {
    const [ann, ben, cid] = await registerUsers(a, 3);
    await befriend(ann, ben);
    await befriend(cid, ben);
    const annDevice = await device(ann);
    const cidDevice = await device(cid);
    await device(ben);
    await eventually(() => pushed(annDevice, ben.id).at(-1) === "online" && pushed(cidDevice, ben.id).at(-1) === "online", "both see ben");

    await a.contacts.removeContact({ userId: ann.id }, ben.auth);
    await eventually(() => pushed(annDevice, ben.id).at(-1) === "hidden", "ann no longer sees ben");
    expect(await visiblePresence(ann, ben)).toBeUndefined();

    await a.contacts.updatePrivacySettings({ settings: { presenceVisibility: PresenceVisibility.NOBODY }, updateMask: ["presence_visibility"] }, ben.auth);
    await eventually(() => pushed(cidDevice, ben.id).at(-1) === "hidden", "cid no longer sees ben");
    await a.contacts.updatePrivacySettings({ settings: { presenceVisibility: PresenceVisibility.CONTACTS }, updateMask: ["presence_visibility"] }, ben.auth);
    await eventually(() => pushed(cidDevice, ben.id).at(-1) === "online", "cid sees ben again");
    // Ann is not a contact any more: nothing came back for her.
    expect(pushed(annDevice, ben.id).at(-1)).toBe("hidden");
  });
});

describe("message requests", () => {
  it("a non-contact's conversation lands in requests, not the inbox; accept moves it; delete hides it until they write again", async () => {
    const [ann, ben] = await registerUsers(a, 2);
    const conv = (await a.history.openDirectConversation({ peerUserId: ben.id }, ann.auth)).conversation!;
    expect(conv.request).toBe(false);
    // Empty, it shows nowhere for ben yet... except it is not in his inbox.
    expect(await folderIds(ben, Folder.INBOX)).not.toContain(conv.id);
    expect(await folderIds(ben, Folder.REQUESTS)).not.toContain(conv.id);
    const annDevice = await device(ann);
    expect((await annDevice.sendText(conv.id, "hi, we met at the climbing gym")).errorCode).toBe(0);
    expect(await folderIds(ann, Folder.INBOX)).toContain(conv.id);
    expect(await folderIds(ben, Folder.INBOX)).not.toContain(conv.id);
    const requests = (await a.history.listConversations({ folder: Folder.REQUESTS }, ben.auth)).conversations;
    expect(requests.map((c) => [c.id, c.request])).toEqual([[conv.id, true]]);

    await a.history.deleteMessageRequest({ conversationId: conv.id }, ben.auth);
    expect(await folderIds(ben, Folder.REQUESTS)).toEqual([]);
    expect((await annDevice.sendText(conv.id, "hello again")).errorCode).toBe(0);
    expect(await folderIds(ben, Folder.REQUESTS)).toEqual([conv.id]);

    const accepted = await a.history.acceptMessageRequest({ conversationId: conv.id }, ben.auth);
    expect(accepted.conversation?.request).toBe(false);
    expect(await folderIds(ben, Folder.INBOX)).toContain(conv.id);
    expect(await folderIds(ben, Folder.REQUESTS)).toEqual([]);
    expect(await codeOf(a.history.deleteMessageRequest({ conversationId: conv.id }, ben.auth))).toBe("FailedPrecondition");
  });

  it("contacts, and users who take everyone in their inbox, skip the requests; becoming contacts moves a request to the inbox", async () => {
    const [ann, ben, cid, dan] = await registerUsers(a, 4);
    await befriend(ann, ben);
    const fromContact = (await a.history.openDirectConversation({ peerUserId: ben.id }, ann.auth)).conversation!;
    expect(await folderIds(ben, Folder.INBOX)).toContain(fromContact.id);

    await a.contacts.updatePrivacySettings({ settings: { messageRequests: MessageRequestPolicy.INBOX }, updateMask: ["message_requests"] }, cid.auth);
    const open = (await a.history.openDirectConversation({ peerUserId: cid.id }, dan.auth)).conversation!;
    expect(await folderIds(cid, Folder.INBOX)).toContain(open.id);

    const pending = (await a.history.openDirectConversation({ peerUserId: ben.id }, dan.auth)).conversation!;
    const danDevice = await device(dan);
    await danDevice.sendText(pending.id, "hey");
    expect(await folderIds(ben, Folder.REQUESTS)).toEqual([pending.id]);
    await befriend(dan, ben);
    expect(await folderIds(ben, Folder.REQUESTS)).toEqual([]);
    expect(await folderIds(ben, Folder.INBOX)).toContain(pending.id);
  });
});

describe("last seen", () => {
  it("survives a restart of presence (the whole one-process system, same data directory)", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "messenger-last-seen-"));
    let first: TestSystem | undefined = await startTestSystem({ DATA_DIR: dataDir, PRESENCE_ANNOUNCE_WINDOW_MS: "50" });
    let second: TestSystem | undefined;
    const own = api(first.grpcUrl);
    try {
      const [ann, ben] = await registerUsers(own, 2);
      await befriendOn(own, ann, ben);
      const seenBy = (s: Api) => visibleOn(s, ann, ben.id);
      const benDevice = new RawMember(ben.id, async () => ben.token);
      await benDevice.connect(first.grpcPort);
      await eventually(async () => (await seenBy(own))?.online === true, "ben online");
      benDevice.close();
      let lastSeen = 0n;
      await eventually(async () => {
        const p = await seenBy(own);
        lastSeen = p && !p.online ? p.lastSeen : 0n;
        return lastSeen > 0n;
      }, "ben offline with a last seen");
      own.close();
      await first.stop();
      first = undefined;

      second = await startTestSystem({ DATA_DIR: dataDir, PRESENCE_ANNOUNCE_WINDOW_MS: "50" });
      const again = api(second.grpcUrl);
      try {
        expect(await seenBy(again)).toEqual({ online: false, lastSeen });
      } finally {
        again.close();
      }
    } finally {
      own.close();
      await first?.stop();
      await second?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
