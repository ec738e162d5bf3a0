import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { PresenceVisibility } from "../storage/contacts-repository.js";
import { idOf, openContactsFixture, refusal, type ContactsFixture } from "./contacts-fixture.js";

const ann = idOf("ann");
const bob = idOf("bob");
const cat = idOf("cat");
const dan = idOf("dan");
const ghost = idOf("ghost");

let f: ContactsFixture;
beforeEach(async () => {
  f = await openContactsFixture();
  await f.addUsers("ann", "bob", "cat", "dan");
});
afterEach(() => f.close());

async function befriend(a: string, b: string): Promise<void> {
  await f.contacts.sendRequest(a, b);
  await f.contacts.accept(b, a);
}

const showTo = (user: string, presenceVisibility: PresenceVisibility) => f.privacy.update(user, { presenceVisibility, messageRequests: "requests" }, ["presence_visibility"]);

describe("GetRelations", () => {
  it("answers each peer in the order asked, repeats included, unknown peers with every field false", async () => {
    await befriend(ann, bob);
    const rel = await f.relations.get(ann, [cat, ghost, bob, cat]);
    expect(rel.map((r) => [r.peerUserId, r.exists, r.contact])).toEqual([
      [cat, true, false],
      [ghost, false, false],
      [bob, true, true],
      [cat, true, false],
    ]);
    expect(rel[1]).toEqual({ peerUserId: ghost, exists: false, contact: false, blocking: false, blockedBy: false, presenceVisible: false, landsInRequests: false });
  });

  it("shows a user their own presence and never files their own conversation as a request", async () => {
    await showTo(ann, "nobody");
    expect(await f.relations.get(ann, [ann])).toEqual([{ peerUserId: ann, exists: true, contact: false, blocking: false, blockedBy: false, presenceVisible: true, landsInRequests: false }]);
  });

  it("tells presence visibility by the peer's setting, contact and blocks either way", async () => {
    // ann looks at bob (a contact) and cat (not one), under each of their settings.
    await befriend(ann, bob);
    const visible = async (): Promise<[boolean, boolean]> => {
      const [toBob, toCat] = await f.relations.get(ann, [bob, cat]);
      return [toBob!.presenceVisible, toCat!.presenceVisible];
    };
    const table: [PresenceVisibility, [boolean, boolean]][] = [
      ["everyone", [true, true]],
      ["contacts", [true, false]],
      ["nobody", [false, false]],
    ];
    for (const [setting, expected] of table) {
      await showTo(bob, setting);
      await showTo(cat, setting);
      expect(await visible(), setting).toEqual(expected);
    }
    await showTo(bob, "everyone");
    await showTo(cat, "everyone");
    await f.contacts.block(ann, bob);
    await f.contacts.block(cat, ann);
    expect(await visible()).toEqual([false, false]);
    const [toBob, toCat] = await f.relations.get(ann, [bob, cat]);
    expect(toBob).toMatchObject({ blocking: true, blockedBy: false, contact: true });
    expect(toCat).toMatchObject({ blocking: false, blockedBy: true, contact: false });
    const [bobSees] = await f.relations.get(bob, [ann]);
    expect(bobSees).toMatchObject({ blocking: false, blockedBy: true, presenceVisible: false });
  });

  it("files a non-contact's conversation in the peer's requests unless the peer takes them in the inbox", async () => {
    await befriend(ann, bob);
    await f.privacy.update(dan, { presenceVisibility: "contacts", messageRequests: "inbox" }, ["message_requests"]);
    const rel = await f.relations.get(ann, [bob, cat, dan]);
    expect(rel.map((r) => r.landsInRequests)).toEqual([false, true, false]);
  });

  it("answers 1000 peers, known, unknown and repeated, with one statement", async () => {
    await befriend(ann, bob);
    await f.contacts.block(cat, ann);
    await showTo(dan, "everyone");
    const asked = Array.from({ length: 1000 }, (_, i) => [bob, cat, dan, ann, ghost, `p${i}`][i % 6]!);
    f.statements.length = 0;
    const rel = await f.relations.get(ann, asked);
    expect(f.statements).toHaveLength(1);
    expect(rel.slice(0, 6).map((r) => [r.exists, r.contact, r.blockedBy, r.presenceVisible, r.landsInRequests])).toEqual([
      [true, true, false, true, false],
      [true, false, true, false, true],
      [true, false, false, true, true],
      [true, false, false, true, false],
      [false, false, false, false, false],
      [false, false, false, false, false],
    ]);
    expect(rel.slice(6, 12).map((r) => r.exists)).toEqual([true, true, true, true, false, false]);
    expect(rel.map((r) => r.peerUserId)).toEqual(asked);
  });

  it("refuses more than 1000 peers and a missing user_id with INVALID_ARGUMENT", async () => {
    expect((await f.relations.get(ann, Array.from({ length: 1000 }, (_, i) => `p${i}`))).length).toBe(1000);
    expect(await refusal(f.relations.get(ann, Array.from({ length: 1001 }, (_, i) => `p${i}`)))).toBe("invalid_argument");
    expect(await refusal(f.relations.get("", [ann]))).toBe("invalid_argument");
  });
});

describe("ListPresenceAudience", () => {
  it("is the user's contacts (not pending askers) minus blocks either way, contacts only even when presence shows to everyone", async () => {
    await befriend(ann, bob);
    await befriend(cat, ann);
    await befriend(ann, dan);
    await f.addUsers("eve");
    await f.contacts.sendRequest(idOf("eve"), ann);
    expect((await f.relations.presenceAudience(ann)).sort()).toEqual([bob, cat, dan].sort());
    await f.contacts.block(ann, bob);
    await f.contacts.block(cat, ann);
    expect(await f.relations.presenceAudience(ann)).toEqual([dan]);
    await showTo(ann, "everyone");
    expect(await f.relations.presenceAudience(ann)).toEqual([dan]);
  });

  it("is empty when the user shows presence to nobody", async () => {
    await befriend(ann, bob);
    await showTo(ann, "nobody");
    expect(await f.relations.presenceAudience(ann)).toEqual([]);
    expect(await f.relations.presenceAudience(bob)).toEqual([ann]);
  });
});
