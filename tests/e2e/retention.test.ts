import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Message } from "@messenger/proto/chat/v1/types";
import { MessengerClient } from "@messenger/sdk";
import { codeOf, eventually } from "@messenger/testing";
import { collectMessages, newUser, startTestSystem, type TestSystem } from "@messenger/test-system";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { textOf } from "../support/api-user.js";
import { png } from "../support/media-files.js";

let sys: TestSystem;
const clients: MessengerClient[] = [];
beforeAll(async () => {
  // Passes run when the test says, as if at a time it names: no waiting for a TTL.
  // The media cleanup keeps its production wait for uploads never sent (24 h): a sent media whose messages are deleted must not wait for it.
  sys = await startTestSystem({ RETENTION_SWEEP_INTERVAL_MS: "0", MEDIA_CLEANUP_INTERVAL_MS: "0", MEDIA_RESOLVE_GRACE_MS: "0" });
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await sys.dispose();
});

async function user(opts: { name?: string; deviceId?: string } = {}): Promise<MessengerClient> {
  const c = await newUser(sys.grpcUrl, opts);
  clients.push(c);
  return c;
}

const kinds = (ms: Message[]) => ms.map((m) => (m.body.case === "system" ? `system:${m.body.value.event.case}` : m.body.case === "text" ? m.body.value : m.body.case));

describe("disappearing messages", () => {
  it("a member sets a TTL (a system message every device gets), and once it passes everything is gone: history, previews, blobs; an offline device is not sent chasing deleted seqs", { timeout: 60_000 }, async () => {
    const alice = await user();
    const bobName = `bob${Date.now().toString(36)}`;
    const bobPhone = await user({ name: bobName, deviceId: "phone" });
    const bobLaptop = await user({ name: bobName, deviceId: "laptop" });
    await Promise.all([alice.connect(), bobPhone.connect(), bobLaptop.connect()]);
    const conv = await alice.openDirect(bobPhone.user!.id);
    const phoneGot = collectMessages(bobPhone);
    await alice.send(conv.id, "said before the change");
    await eventually(() => phoneGot.length === 1, "bob's phone gets the first message");
    // The laptop goes offline here and stays away through the deletion.
    const laptopResume = bobLaptop.resumeState();
    await bobLaptop.close();

    const event = await alice.setRetention(conv.id, { mode: "disappearing", ttlSeconds: 300 });
    expect(event.body.case === "system" && event.body.value.event.case === "retentionChanged" ? event.body.value.event.value.retention?.ttlSeconds : 0).toBe(300);
    await eventually(() => phoneGot.length === 2, "bob's phone gets the change live");
    expect(kinds(phoneGot)).toEqual(["said before the change", "system:retentionChanged"]);
    expect((await bobPhone.getConversation(conv.id)).retention).toMatchObject({ ttlSeconds: 300 });

    const photo = await alice.sendImage(conv.id, { bytes: await png(30, 20), fileName: "gone.png" });
    const mediaId = photo.body.case === "media" ? photo.body.value.mediaId : "";
    await alice.send(conv.id, "secret");
    await eventually(() => phoneGot.length === 4, "bob's phone gets the image and the text");
    expect(existsSync(join(sys.dataDir, "media", "blobs", "media", mediaId, "original"))).toBe(true);

    // Not yet: nothing is older than the TTL.
    expect(await sys.store.sweepRetention(Date.now())).toMatchObject({ deleted: 0 });
    const swept = await sys.store.sweepRetention(Date.now() + 301_000);
    expect(swept).toMatchObject({ deleted: 4, conversations: 1 });

    const page = await bobPhone.listMessages(conv.id);
    expect([page.messages, page.minSeq, page.lastSeq]).toEqual([[], 5n, 4n]);
    const inbox = await bobPhone.getConversation(conv.id);
    expect([inbox.lastMessage, inbox.minSeq]).toEqual([undefined, 5n]);

    // The image's blob goes with its message: no stored message references it any more.
    expect(await sys.media.cleanup()).toMatchObject({ unreferenced: 1 });
    expect(existsSync(join(sys.dataDir, "media", "blobs", "media", mediaId, "original"))).toBe(false);
    expect(await codeOf(alice.media.downloadLink(mediaId))).toBe("NotFound");

    // The laptop comes back with its old cursor: nothing of the deleted seqs, then the next message, with no gap to chase.
    const laptop = new MessengerClient({ url: sys.grpcUrl, deviceId: "laptop", resume: laptopResume, reconnectBaseMs: 50, reconnectMaxMs: 500, gapWaitMs: 100 });
    clients.push(laptop);
    const laptopGot = collectMessages(laptop);
    await laptop.login(bobName, "correct horse battery");
    await laptop.connect();
    await alice.send(conv.id, "after the deletion");
    await eventually(() => laptopGot.length === 1, "the laptop gets the new message");
    expect(laptopGot.map((m) => [m.seq, textOf(m)])).toEqual([[5n, "after the deletion"]]);
    await eventually(() => phoneGot.length === 5, "so does the phone");
    expect(bobPhone.stats.duplicatesReceived + laptop.stats.duplicatesReceived).toBe(0);
  });

  it("only members set it (admins and the owner in a group), within 5 minutes and 90 days", async () => {
    const alice = await user();
    const bob = await user();
    const carol = await user();
    const conv = await alice.openDirect(bob.user!.id);
    expect(await codeOf(carol.setRetention(conv.id, { mode: "permanent" }))).toBe("PermissionDenied");
    expect(await codeOf(alice.setRetention(conv.id, { mode: "disappearing", ttlSeconds: 60 }))).toBe("InvalidArgument");
    expect(await codeOf(alice.setRetention(conv.id, { mode: "disappearing", ttlSeconds: 91 * 86400 }))).toBe("InvalidArgument");
    expect(await codeOf(alice.setRetention("c_nope", { mode: "permanent" }))).toBe("NotFound");
    const group = await alice.createGroup("retention", [bob.user!.id, carol.user!.id]);
    expect(await codeOf(bob.setRetention(group.id, { mode: "disappearing", ttlSeconds: 3600 }))).toBe("PermissionDenied");
    expect(await codeOf(alice.setRetention(group.id, { mode: "disappearing", ttlSeconds: 3600 }))).toBe("OK");
    expect((await alice.getConversation(group.id)).retention).toMatchObject({ ttlSeconds: 3600 });
    expect(await codeOf(alice.setRetention(group.id, { mode: "permanent" }))).toBe("OK");
    expect((await carol.getConversation(group.id)).retention?.ttlSeconds).toBe(0);
  });
});

describe("store-and-forward", () => {
  /** Runs passes until they have deleted `n` store-and-forward messages in all (the devices' delivered acks are coalesced, so they land a little after the messages). */
  async function sweepUntilDeleted(n: number): Promise<void> {
    let total = 0;
    await eventually(async () => {
      total += (await sys.store.sweepRetention()).byMode.store_and_forward;
      return total >= n;
    }, `${n} store-and-forward messages deleted`);
    expect(total).toBe(n);
  }
  const devicePhoto = async (alice: MessengerClient, conversationId: string) => {
    const photo = await alice.sendImage(conversationId, { bytes: await png(24, 16), fileName: "once.png" });
    return photo.body.case === "media" ? photo.body.value.mediaId : "";
  };

  it("keeps a message until every device that existed when it was sent has it, an offline one included; a logout or the longest hold lets it go", { timeout: 60_000 }, async () => {
    const alice = await user();
    const bobName = `bob${Date.now().toString(36)}sf`;
    const bobPhone = await user({ name: bobName, deviceId: "phone" });
    const bobTablet = await user({ name: bobName, deviceId: "tablet" });
    await Promise.all([alice.connect(), bobPhone.connect(), bobTablet.connect()]);
    const conv = await alice.openDirect(bobPhone.user!.id);
    // The tablet is registered (it logged in), then goes offline.
    const tabletResume = bobTablet.resumeState();
    await bobTablet.close();

    const phoneGot = collectMessages(bobPhone);
    await bobPhone.setRetention(conv.id, { mode: "store_and_forward" });
    expect(describeRetentionMode(await alice.getConversation(conv.id))).toBe("store_and_forward");
    await alice.send(conv.id, "read once");
    const mediaId = await devicePhoto(alice, conv.id);
    await eventually(() => phoneGot.length === 3, "bob's phone gets the change, the text and the image");
    const blob = join(sys.dataDir, "media", "blobs", "media", mediaId, "original");
    expect(existsSync(blob)).toBe(true);

    // Everything reached alice's phone and bob's phone; the tablet has none of it: nothing goes, however often the sweeper runs.
    await eventually(async () => (await bobPhone.getConversation(conv.id)).receipts.every((r) => r.deliveredSeq >= 3n), "both phones acknowledged seq 3");
    for (let i = 0; i < 3; i++) expect((await sys.store.sweepRetention()).byMode.store_and_forward).toBe(0);
    expect((await bobPhone.listMessages(conv.id)).messages.map((m) => Number(m.seq))).toEqual([1, 2, 3]);

    // The tablet comes back and gets all three; then they are gone from the server, the image's blob with them.
    const tablet = new MessengerClient({ url: sys.grpcUrl, deviceId: "tablet", resume: tabletResume, reconnectBaseMs: 50, reconnectMaxMs: 500, gapWaitMs: 100 });
    clients.push(tablet);
    const tabletGot = collectMessages(tablet);
    await tablet.login(bobName, "correct horse battery");
    await tablet.connect();
    await eventually(() => tabletGot.length === 3, "the tablet gets what it missed");
    expect(kinds(tabletGot)).toEqual(["system:retentionChanged", "read once", "media"]);
    await sweepUntilDeleted(3);
    const page = await bobPhone.listMessages(conv.id);
    expect([page.messages, page.minSeq, page.lastSeq]).toEqual([[], 4n, 3n]);
    expect(await sys.media.cleanup()).toMatchObject({ unreferenced: 1 });
    expect(existsSync(blob)).toBe(false);
    expect(await codeOf(tablet.media.downloadLink(mediaId))).toBe("NotFound");

    // The tablet is away again; a logout means nothing is kept for it any more.
    await tablet.close();
    await alice.send(conv.id, "the tablet is gone");
    await eventually(() => phoneGot.length === 4, "the phone gets seq 4");
    await eventually(async () => (await bobPhone.getConversation(conv.id)).receipts.every((r) => r.deliveredSeq >= 4n), "both phones acknowledged seq 4");
    expect((await sys.store.sweepRetention()).byMode.store_and_forward).toBe(0);
    const again = new MessengerClient({ url: sys.grpcUrl, deviceId: "tablet" });
    await again.login(bobName, "correct horse battery");
    await again.logout();
    expect(await codeOf(again.login(bobName, "wrong password"))).toBe("Unauthenticated");
    expect((await sys.store.sweepRetention()).byMode.store_and_forward).toBe(1);

    // A device that never comes back holds a message for 30 days at most.
    await bobPhone.close();
    await alice.send(conv.id, "bob's phone is off");
    expect((await sys.store.sweepRetention()).byMode.store_and_forward).toBe(0);
    expect((await sys.store.sweepRetention(Date.now() + 30 * 86_400_000 + 1_000)).byMode.store_and_forward).toBe(1);
    expect((await alice.getConversation(conv.id)).minSeq).toBe(6n);
  });

  it("in a group, owes each message to the devices of the members at that seq, and not to a device registered after it was sent", { timeout: 60_000 }, async () => {
    const owner = await user();
    const ann = await user();
    const ben = await user();
    await Promise.all([owner.connect(), ann.connect(), ben.connect()]);
    const group = await owner.createGroup("ephemeral", [ann.user!.id, ben.user!.id]);
    await owner.setRetention(group.id, { mode: "store_and_forward" });
    const first = await owner.send(group.id, "to ann and ben");
    await owner.removeMember(group.id, ben.user!.id);
    // ben is gone: what follows is owed to the owner and ann only. A new device of ann's after it was sent is owed nothing before it.
    const second = await owner.send(group.id, "to ann only");
    await user({ name: ann.user!.username, deviceId: "new" });
    await eventually(async () => (await owner.getConversation(group.id)).receipts.every((r) => r.deliveredSeq >= second.seq), "every current member acknowledged the last message");
    await sweepUntilDeleted(Number(second.seq));
    expect(first.seq).toBeLessThan(second.seq);
    expect((await ann.listMessages(group.id)).minSeq).toBe(second.seq + 1n);
  });
});

function describeRetentionMode(c: { retention?: { mode: number } | undefined }): string {
  return ["unspecified", "permanent", "store_and_forward", "disappearing"][c.retention?.mode ?? 0]!;
}
