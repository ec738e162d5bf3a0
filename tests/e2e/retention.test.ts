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

  it("only members set it (admins and the owner in a group), within 5 minutes and 90 days, and store-and-forward is not offered yet", async () => {
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
