import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { idOf, openContactsFixture, refusal, type ContactsFixture } from "./contacts-fixture.js";

const ann = idOf("ann");
const bob = idOf("bob");
const cat = idOf("cat");
const ghost = idOf("ghost");

let f: ContactsFixture;
beforeEach(async () => {
  f = await openContactsFixture();
  await f.addUsers("ann", "bob", "cat");
});
afterEach(() => f.close());

const names = (items: { user: { username: string } }[]): string[] => items.map((i) => i.user.username);
const contactsOf = async (me: string): Promise<string[]> => names((await f.contacts.listContacts(me, 0, "")).items);
const incomingOf = async (me: string): Promise<string[]> => names((await f.contacts.listRequests(me, "incoming", 0, "")).items);
const outgoingOf = async (me: string): Promise<string[]> => names((await f.contacts.listRequests(me, "outgoing", 0, "")).items);
const relation = async (me: string, peer: string) => (await f.relations.get(me, [peer]))[0]!;

describe("contact requests", () => {
  it("keeps a request pending on both sides until accepted, then makes both contacts and tells the store once per side", async () => {
    f.clock.now = 5_000;
    expect(await f.contacts.sendRequest(ann, bob)).toEqual({ accepted: false });
    expect(await outgoingOf(ann)).toEqual(["bob"]);
    expect(await incomingOf(bob)).toEqual(["ann"]);
    expect(await incomingOf(ann)).toEqual([]);
    expect(await contactsOf(ann)).toEqual([]);
    expect(f.store.calls).toEqual([]);

    f.clock.now = 6_000;
    const contact = await f.contacts.accept(bob, ann);
    expect(contact).toEqual({ user: { id: ann, username: "ann", displayName: "ANN" }, since: 6_000 });
    expect(await contactsOf(ann)).toEqual(["bob"]);
    expect(await contactsOf(bob)).toEqual(["ann"]);
    expect(await outgoingOf(ann)).toEqual([]);
    expect(await incomingOf(bob)).toEqual([]);
    expect(f.store.calls.map((c) => [c.userId, c.peerUserId, c.contact, c.blocking])).toEqual([
      [bob, ann, true, false],
      [ann, bob, true, false],
    ]);
  });

  it("makes both contacts at once when the asked user had already asked, leaving no request behind", async () => {
    await f.contacts.sendRequest(ann, bob);
    expect(await f.contacts.sendRequest(bob, ann)).toEqual({ accepted: true });
    expect(await contactsOf(ann)).toEqual(["bob"]);
    expect(await contactsOf(bob)).toEqual(["ann"]);
    expect([await outgoingOf(ann), await incomingOf(bob), await outgoingOf(bob), await incomingOf(ann)]).toEqual([[], [], [], []]);
    expect(f.store.calls.map((c) => [c.userId, c.peerUserId, c.contact])).toEqual([
      [bob, ann, true],
      [ann, bob, true],
    ]);
  });

  it("makes exactly one contact of two crossing requests sent at the same time", async () => {
    const results = await Promise.all([f.contacts.sendRequest(ann, bob), f.contacts.sendRequest(bob, ann)]);
    expect(results.map((r) => r.accepted).sort()).toEqual([false, true]);
    expect(await contactsOf(ann)).toEqual(["bob"]);
    expect([await outgoingOf(ann), await outgoingOf(bob)]).toEqual([[], []]);
  });

  it("declines a request on both sides, after which the asker may ask again", async () => {
    await f.contacts.sendRequest(ann, bob);
    await f.contacts.decline(bob, ann);
    expect([await outgoingOf(ann), await incomingOf(bob)]).toEqual([[], []]);
    expect(await refusal(f.contacts.decline(bob, ann))).toBe("not_found");
    expect(await refusal(f.contacts.accept(bob, ann))).toBe("not_found");
    expect(await f.contacts.sendRequest(ann, bob)).toEqual({ accepted: false });
  });

  it("cancels the caller's own request, and only that one", async () => {
    await f.contacts.sendRequest(ann, bob);
    expect(await refusal(f.contacts.cancel(bob, ann))).toBe("not_found");
    await f.contacts.cancel(ann, bob);
    expect([await outgoingOf(ann), await incomingOf(bob)]).toEqual([[], []]);
    expect(await refusal(f.contacts.cancel(ann, bob))).toBe("not_found");
  });

  it("does not let the asker accept their own request", async () => {
    await f.contacts.sendRequest(ann, bob);
    expect(await refusal(f.contacts.accept(ann, bob))).toBe("not_found");
    expect(await contactsOf(ann)).toEqual([]);
  });

  it("refuses a second request and a request to a contact with ALREADY_EXISTS", async () => {
    await f.contacts.sendRequest(ann, bob);
    expect(await refusal(f.contacts.sendRequest(ann, bob))).toBe("already_exists");
    await f.contacts.accept(bob, ann);
    expect(await refusal(f.contacts.sendRequest(ann, bob))).toBe("already_exists");
    expect(await refusal(f.contacts.sendRequest(bob, ann))).toBe("already_exists");
  });

  it("refuses a request to oneself or without a user, and NOT_FOUND for an unknown user", async () => {
    expect(await refusal(f.contacts.sendRequest(ann, ann))).toBe("invalid_argument");
    expect(await refusal(f.contacts.sendRequest(ann, ""))).toBe("invalid_argument");
    expect(await refusal(f.contacts.sendRequest(ann, ghost))).toBe("not_found");
    expect(await outgoingOf(ann)).toEqual([]);
  });

  it("refuses a request from a blocked user with PERMISSION_DENIED and to a blocked user with FAILED_PRECONDITION", async () => {
    await f.contacts.block(bob, ann);
    expect(await refusal(f.contacts.sendRequest(ann, bob))).toBe("permission_denied");
    expect(await refusal(f.contacts.sendRequest(bob, ann))).toBe("failed_precondition");
    expect([await outgoingOf(ann), await outgoingOf(bob)]).toEqual([[], []]);
    await f.contacts.unblock(bob, ann);
    expect(await f.contacts.sendRequest(ann, bob)).toEqual({ accepted: false });
  });

  it("removes a contact on both sides; NOT_FOUND when not a contact", async () => {
    await f.contacts.sendRequest(ann, bob);
    expect(await refusal(f.contacts.remove(ann, bob))).toBe("not_found");
    await f.contacts.accept(bob, ann);
    await f.contacts.remove(ann, bob);
    expect([await contactsOf(ann), await contactsOf(bob)]).toEqual([[], []]);
    expect(await refusal(f.contacts.remove(bob, ann))).toBe("not_found");
    expect(await f.contacts.sendRequest(bob, ann)).toEqual({ accepted: false });
  });

  it("leaves the request pending and the pair apart when the store cannot be told of the new contact", async () => {
    await f.contacts.sendRequest(ann, bob);
    f.store.failure = new Error("store unreachable");
    await expect(f.contacts.accept(bob, ann)).rejects.toThrow("store unreachable");
    expect(await contactsOf(bob)).toEqual([]);
    expect(await incomingOf(bob)).toEqual(["ann"]);
    f.store.failure = undefined;
    await f.contacts.accept(bob, ann);
    expect(await contactsOf(bob)).toEqual(["ann"]);
  });
});

describe("limits", () => {
  it("refuses a request beyond the pending limit with RESOURCE_EXHAUSTED until one is answered", async () => {
    await f.close();
    f = await openContactsFixture({ limits: { maxContacts: 10, maxPendingRequests: 2 } });
    await f.addUsers("ann", "bob", "cat", "dan");
    await f.contacts.sendRequest(ann, bob);
    await f.contacts.sendRequest(ann, cat);
    expect(await refusal(f.contacts.sendRequest(ann, idOf("dan")))).toBe("resource_exhausted");
    expect(await outgoingOf(ann)).toEqual(["cat", "bob"]);
    await f.contacts.accept(bob, ann);
    expect(await f.contacts.sendRequest(ann, idOf("dan"))).toEqual({ accepted: false });
  });

  it("refuses a contact beyond either side's contact limit, without telling the store or dropping the request", async () => {
    await f.close();
    f = await openContactsFixture({ limits: { maxContacts: 1, maxPendingRequests: 10 } });
    await f.addUsers("ann", "bob", "cat");
    await f.contacts.sendRequest(ann, bob);
    await f.contacts.accept(bob, ann);
    const told = f.store.calls.length;
    await f.contacts.sendRequest(cat, ann);
    expect(await refusal(f.contacts.accept(ann, cat))).toBe("resource_exhausted");
    expect(await refusal(f.contacts.sendRequest(ann, cat))).toBe("resource_exhausted");
    await f.contacts.sendRequest(bob, cat);
    expect(await refusal(f.contacts.accept(cat, bob))).toBe("resource_exhausted");
    expect(f.store.calls.length).toBe(told);
    expect(await incomingOf(ann)).toEqual(["cat"]);
    expect(await contactsOf(cat)).toEqual([]);
  });
});

describe("blocks", () => {
  it("refuses to block oneself or an unknown user", async () => {
    expect(await refusal(f.contacts.block(ann, ann))).toBe("invalid_argument");
    expect(await refusal(f.contacts.block(ann, ghost))).toBe("not_found");
    expect(await refusal(f.contacts.unblock(ann, ghost))).toBe("not_found");
    expect(f.store.calls).toEqual([]);
  });

  it("tells the store before writing a block and after lifting one, carrying whether the two are contacts", async () => {
    await f.contacts.sendRequest(ann, bob);
    await f.contacts.accept(bob, ann);
    f.store.calls.length = 0;
    await f.contacts.block(ann, bob);
    expect((await relation(ann, bob)).blocking).toBe(true);
    await f.contacts.unblock(ann, bob);
    expect((await relation(ann, bob)).blocking).toBe(false);
    expect(f.store.calls).toEqual([
      { userId: ann, peerUserId: bob, blocking: true, contact: true, blockedLocally: false },
      { userId: ann, peerUserId: bob, blocking: false, contact: true, blockedLocally: false },
    ]);
  });

  it("fails Block without writing the block when the store call fails; a retry converges", async () => {
    f.store.failure = new Error("store unreachable");
    await expect(f.contacts.block(ann, bob)).rejects.toThrow("store unreachable");
    expect((await relation(ann, bob)).blocking).toBe(false);
    expect((await f.contacts.listBlocked(ann, 0, "")).items).toEqual([]);
    f.store.failure = undefined;
    await f.contacts.block(ann, bob);
    expect((await relation(ann, bob)).blocking).toBe(true);
    expect(f.store.lastWord(ann, bob)).toEqual({ blocking: true, contact: false });
  });

  it("fails Unblock when the store call fails, and tells the store again on the retry though the block is gone here", async () => {
    await f.contacts.block(ann, bob);
    f.store.failure = new Error("store unreachable");
    await expect(f.contacts.unblock(ann, bob)).rejects.toThrow("store unreachable");
    f.store.failure = undefined;
    expect(f.store.lastWord(ann, bob)).toEqual({ blocking: true, contact: false });
    await f.contacts.unblock(ann, bob);
    expect(f.store.lastWord(ann, bob)).toEqual({ blocking: false, contact: false });
  });

  it("is idempotent and keeps the time of the first block", async () => {
    f.clock.now = 2_000;
    await f.contacts.block(ann, bob);
    f.clock.now = 3_000;
    await f.contacts.block(ann, cat);
    f.clock.now = 4_000;
    await f.contacts.block(ann, bob);
    expect((await f.contacts.listBlocked(ann, 0, "")).items.map((b) => [b.user.username, b.blockedAt])).toEqual([
      ["cat", 3_000],
      ["bob", 2_000],
    ]);
    await f.contacts.unblock(ann, bob);
    await f.contacts.unblock(ann, bob);
    expect(names((await f.contacts.listBlocked(ann, 0, "")).items)).toEqual(["cat"]);
  });

  it("drops pending requests both ways", async () => {
    await f.contacts.sendRequest(ann, bob);
    await f.contacts.sendRequest(cat, ann);
    await f.contacts.block(ann, bob);
    await f.contacts.block(cat, ann);
    expect([await outgoingOf(ann), await incomingOf(bob), await incomingOf(ann), await outgoingOf(cat)]).toEqual([[], [], [], []]);
  });

  it("keeps a contact through a block, which counts again after Unblock", async () => {
    await f.privacy.update(bob, { presenceVisibility: "contacts", messageRequests: "requests" }, []);
    await f.contacts.sendRequest(ann, bob);
    await f.contacts.accept(bob, ann);
    await f.contacts.block(bob, ann);
    expect(await contactsOf(ann)).toEqual(["bob"]);
    expect(await relation(ann, bob)).toMatchObject({ contact: true, blockedBy: true, presenceVisible: false });
    expect(await f.relations.presenceAudience(bob)).toEqual([]);
    await f.contacts.unblock(bob, ann);
    expect(await relation(ann, bob)).toMatchObject({ contact: true, blockedBy: false, presenceVisible: true });
    expect(await f.relations.presenceAudience(bob)).toEqual([ann]);
  });

  it("leaves the store's last word on each side matching this service when a block races an accept", async () => {
    for (const blockFirst of [false, true]) {
      await f.close();
      f = await openContactsFixture();
      await f.addUsers("ann", "bob");
      await f.contacts.sendRequest(bob, ann);
      // Every store call yields a few turns, so that without the pair lock the two changes
      // would interleave between reading the pair and writing it.
      f.store.beforeAnswer = async () => {
        for (let i = 0; i < 5; i++) await Promise.resolve();
      };
      const accept = (): Promise<unknown> => f.contacts.accept(ann, bob).catch(() => undefined);
      const block = (): Promise<unknown> => f.contacts.block(bob, ann);
      await Promise.all(blockFirst ? [block(), accept()] : [accept(), block()]);
      const seenByAnn = await relation(ann, bob);
      const seenByBob = await relation(bob, ann);
      expect(f.store.lastWord(bob, ann)).toEqual({ blocking: seenByBob.blocking, contact: seenByBob.contact });
      expect(seenByBob.blocking).toBe(true);
      const annWord = f.store.lastWord(ann, bob);
      if (annWord) expect(annWord).toEqual({ blocking: seenByAnn.blocking, contact: seenByAnn.contact });
    }
  });
});

describe("paging", () => {
  const everyName = ["ann", "bob", "cat", "dan", "eve", "fay", "gus"];

  async function walk<T>(next: (token: string) => Promise<{ items: T[]; nextPageToken: string }>): Promise<T[][]> {
    const pages: T[][] = [];
    let token = "";
    do {
      const page = await next(token);
      pages.push(page.items);
      token = page.nextPageToken;
    } while (token);
    return pages;
  }

  beforeEach(async () => {
    await f.addUsers("dan", "eve", "fay", "gus");
  });

  it("pages through contacts by username", async () => {
    for (const name of ["gus", "bob", "fay", "dan", "eve"]) {
      await f.contacts.sendRequest(idOf(name), ann);
      await f.contacts.accept(ann, idOf(name));
    }
    const pages = await walk((t) => f.contacts.listContacts(ann, 2, t));
    expect(pages.map(names)).toEqual([["bob", "dan"], ["eve", "fay"], ["gus"]]);
  });

  it("pages through incoming and outgoing requests newest first, requests sent in the same millisecond included", async () => {
    const times: Record<string, number> = { bob: 10, cat: 30, dan: 20, eve: 20, fay: 20, gus: 40 };
    for (const [name, at] of Object.entries(times)) {
      f.clock.now = at;
      await f.contacts.sendRequest(idOf(name), ann);
    }
    // Pages of two split the three requests of time 20, which are ordered by id among themselves.
    const newestFirst = ["gus", "cat", "fay", "dan", "eve", "bob"];
    const incoming = await walk((t) => f.contacts.listRequests(ann, "incoming", 2, t));
    expect(incoming.map(names)).toEqual([["gus", "cat"], ["fay", "dan"], ["eve", "bob"]]);
    expect(incoming.flat().map((r) => r.sentAt)).toEqual([40, 30, 20, 20, 20, 10]);

    for (const name of everyName.slice(1)) {
      await f.contacts.decline(ann, idOf(name));
    }
    for (const [name, at] of Object.entries(times)) {
      f.clock.now = at;
      await f.contacts.sendRequest(ann, idOf(name));
    }
    const outgoing = await walk((t) => f.contacts.listRequests(ann, "outgoing", 4, t));
    expect(outgoing.map(names)).toEqual([newestFirst.slice(0, 4), newestFirst.slice(4)]);
    expect((await f.contacts.listRequests(ann, "incoming", 0, "")).items).toEqual([]);
  });

  it("pages through blocked users newest first", async () => {
    for (const [i, name] of everyName.slice(1).entries()) {
      f.clock.now = 100 + i;
      await f.contacts.block(ann, idOf(name));
    }
    const pages = await walk((t) => f.contacts.listBlocked(ann, 5, t));
    expect(pages.map(names)).toEqual([["gus", "fay", "eve", "dan", "cat"], ["bob"]]);
  });

  it("serves 100 when page_size is 0 and at most 500, and gives no token on an exact last page", async () => {
    const many = Array.from({ length: 501 }, (_, i) => `user${String(i).padStart(3, "0")}`);
    await f.addUsers(...many);
    for (const name of many) await f.contacts.block(ann, idOf(name));
    const byDefault = await f.contacts.listBlocked(ann, 0, "");
    expect(byDefault.items).toHaveLength(100);
    expect(byDefault.nextPageToken).not.toBe("");
    const capped = await f.contacts.listBlocked(ann, 100_000, "");
    expect(capped.items).toHaveLength(500);
    const last = await f.contacts.listBlocked(ann, 1, capped.nextPageToken);
    expect(last).toMatchObject({ nextPageToken: "", items: [{ user: { username: many[0] } }] });
  });

  it("refuses a page token that is not one of this list's with INVALID_ARGUMENT", async () => {
    for (const name of ["bob", "cat"]) await f.contacts.block(ann, idOf(name));
    const blockedToken = (await f.contacts.listBlocked(ann, 1, "")).nextPageToken;
    expect(blockedToken).not.toBe("");
    expect(await refusal(f.contacts.listRequests(ann, "incoming", 1, blockedToken))).toBe("invalid_argument");
    expect(await refusal(f.contacts.listContacts(ann, 1, blockedToken))).toBe("invalid_argument");
    expect(await refusal(f.contacts.listBlocked(ann, 1, "not-a-token"))).toBe("invalid_argument");
    expect(await refusal(f.contacts.listBlocked(ann, 1, Buffer.from('["blocked","x","y"]').toString("base64url")))).toBe("invalid_argument");
  });
});
