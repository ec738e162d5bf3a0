import { RetentionMode, type Conversation, type Message } from "@messenger/proto/chat/v1/types";
import type { MessengerClient } from "@messenger/sdk";
import { codeOf, eventually } from "@messenger/testing";
import { collectMessages, newUser, startTestSystem, type TestSystem } from "@messenger/test-system";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { textOf } from "../support/api-user.js";

let sys: TestSystem;
const clients: MessengerClient[] = [];
beforeAll(async () => {
  // Retention passes run when a test says, as if at a time it names: no waiting for a TTL.
  sys = await startTestSystem({ RETENTION_SWEEP_INTERVAL_MS: "0" });
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await sys.dispose();
});

async function user(): Promise<MessengerClient> {
  const c = await newUser(sys.grpcUrl);
  clients.push(c);
  return c;
}

/** The retention a group_created system message carries, as [mode, ttlSeconds]. */
function createdWith(m: Message | undefined): [RetentionMode, number] | undefined {
  const ev = m?.body.case === "system" ? m.body.value.event : undefined;
  return ev?.case === "groupCreated" ? [ev.value.retention?.mode ?? RetentionMode.UNSPECIFIED, ev.value.retention?.ttlSeconds ?? 0] : undefined;
}

const retentionOf = (c: Conversation): [RetentionMode, number] => [c.retention?.mode ?? RetentionMode.UNSPECIFIED, c.retention?.ttlSeconds ?? 0];

async function titles(c: MessengerClient): Promise<string[]> {
  const [inbox, requests] = await Promise.all([c.listConversations(100), c.listConversations(100, "", "requests")]);
  return [...inbox.conversations, ...requests.conversations].map((conv) => conv.title);
}

describe("retention chosen at creation", () => {
  it("a group created disappearing after 1 hour: every member sees it in group_created and in the conversation, and its messages go once the hour has passed", { timeout: 60_000 }, async () => {
    const alice = await user();
    const bob = await user();
    const carol = await user();
    await Promise.all([alice.connect(), bob.connect()]);
    const bobGot = collectMessages(bob);

    const group = await alice.createGroup("Gone in an hour", [bob.user!.id, carol.user!.id], "", { retention: { mode: "disappearing", ttlSeconds: 3600 } });
    expect(retentionOf(group)).toEqual([RetentionMode.DISAPPEARING, 3600]);
    // Bob gets the first message live; carol, offline, reads it in history.
    await eventually(() => bobGot.length === 1, "bob gets group_created");
    expect(createdWith(bobGot[0])).toEqual([RetentionMode.DISAPPEARING, 3600]);
    expect(createdWith((await carol.listMessages(group.id)).messages[0])).toEqual([RetentionMode.DISAPPEARING, 3600]);
    expect(retentionOf(await bob.getConversation(group.id))).toEqual([RetentionMode.DISAPPEARING, 3600]);
    expect(retentionOf(await carol.getConversation(group.id))).toEqual([RetentionMode.DISAPPEARING, 3600]);

    // A group created without one is permanent, and its first message says so.
    const kept = await alice.createGroup("Kept", [bob.user!.id]);
    expect(retentionOf(kept)).toEqual([RetentionMode.PERMANENT, 0]);
    expect(createdWith((await bob.listMessages(kept.id)).messages[0])).toEqual([RetentionMode.PERMANENT, 0]);

    await alice.send(group.id, "gone soon");
    await alice.send(kept.id, "here to stay");
    await eventually(() => bobGot.length === 4, "bob gets the second group_created and both texts");

    expect((await sys.store.sweepRetention(Date.now())).byMode.disappearing).toBe(0);
    expect((await sys.store.sweepRetention(Date.now() + 3_601_000)).byMode.disappearing).toBe(2);
    const page = await bob.listMessages(group.id);
    expect([page.messages, page.minSeq, page.lastSeq]).toEqual([[], 3n, 2n]);
    expect((await bob.listMessages(kept.id)).messages.map((m) => (m.body.case === "text" ? textOf(m) : m.body.case))).toEqual(["system", "here to stay"]);
  });

  it("refuses a TTL out of bounds with INVALID_ARGUMENT and creates nothing, for a group and for a direct conversation", async () => {
    const alice = await user();
    const bob = await user();
    for (const ttlSeconds of [60, 91 * 86_400]) {
      expect(await codeOf(alice.createGroup("never made", [bob.user!.id], "", { retention: { mode: "disappearing", ttlSeconds } }))).toBe("InvalidArgument");
      expect(await codeOf(alice.openDirect(bob.user!.id, { retention: { mode: "disappearing", ttlSeconds } }))).toBe("InvalidArgument");
    }
    expect(await titles(alice)).toEqual([]);
    expect(await titles(bob)).toEqual([]);
    // The same calls with a TTL in bounds go through.
    const opened = await alice.openDirect(bob.user!.id, { retention: { mode: "disappearing", ttlSeconds: 300 } });
    expect(retentionOf(opened)).toEqual([RetentionMode.DISAPPEARING, 300]);
    const group = await alice.createGroup("made", [bob.user!.id], "", { retention: { mode: "disappearing", ttlSeconds: 300 } });
    expect((await alice.listConversations(100)).conversations.map((c) => c.id).sort()).toEqual([opened.id, group.id].sort());
    expect(await titles(bob)).toEqual(["made"]);
  });

  it("a direct conversation opened store-and-forward keeps that retention when opened again with another, and its delivered messages leave the server", { timeout: 60_000 }, async () => {
    const alice = await user();
    const bob = await user();
    await Promise.all([alice.connect(), bob.connect()]);
    const bobGot = collectMessages(bob);
    const conv = await alice.openDirect(bob.user!.id, { retention: { mode: "store_and_forward" } });
    expect(retentionOf(conv)).toEqual([RetentionMode.STORE_AND_FORWARD, 0]);
    expect(retentionOf(await bob.getConversation(conv.id))).toEqual([RetentionMode.STORE_AND_FORWARD, 0]);

    // An existing conversation is returned as it is, whoever opens it and whatever they ask.
    const again = await bob.openDirect(alice.user!.id, { retention: { mode: "disappearing", ttlSeconds: 3600 } });
    expect([again.id, retentionOf(again)]).toEqual([conv.id, [RetentionMode.STORE_AND_FORWARD, 0]]);
    expect(retentionOf(await alice.openDirect(bob.user!.id, { retention: { mode: "permanent" } }))).toEqual([RetentionMode.STORE_AND_FORWARD, 0]);
    expect(retentionOf(await alice.getConversation(conv.id))).toEqual([RetentionMode.STORE_AND_FORWARD, 0]);

    const sent = await alice.send(conv.id, "read once");
    await eventually(() => bobGot.length === 1, "bob gets the message");
    await eventually(async () => (await alice.getConversation(conv.id)).receipts.every((r) => r.deliveredSeq >= sent.seq), "bob's phone acknowledged it");
    let deleted = 0;
    await eventually(async () => {
      deleted += (await sys.store.sweepRetention()).byMode.store_and_forward;
      return deleted >= 1;
    }, "the delivered message deleted");
    expect(deleted).toBe(1);
    expect((await bob.listMessages(conv.id)).minSeq).toBe(2n);
  });
});
