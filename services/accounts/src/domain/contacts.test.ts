import { Code, ConnectError } from "@connectrpc/connect";
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

  it("removes a contact on both sides and tells the store so; NOT_FOUND when not a contact", async () => {
    await f.contacts.sendRequest(ann, bob);
    expect(await refusal(f.contacts.remove(ann, bob))).toBe("not_found");
    await f.contacts.accept(bob, ann);
    await f.contacts.remove(ann, bob);
    expect([await contactsOf(ann), await contactsOf(bob)]).toEqual([[], []]);
    // The store decides with the contact bit where a new conversation of the pair lands.
    expect([f.store.lastWord(ann, bob), f.store.lastWord(bob, ann)]).toEqual([
      { blocking: false, contact: false },
      { blocking: false, contact: false },
    ]);
    expect(await f.pending()).toEqual([]);
    expect(await refusal(f.contacts.remove(bob, ann))).toBe("not_found");
    expect(await f.contacts.sendRequest(bob, ann)).toEqual({ accepted: false });
  });

  it("answers Accept OK when the store cannot be told: the contact is made here and the outbox brings the store to both sides", async () => {
    await f.contacts.sendRequest(ann, bob);
    f.store.failure = new Error("store unreachable");
    f.clock.now = 7_000;
    // Failing here would be worse than useless: the client's retry would meet NOT_FOUND.
    expect(await f.contacts.accept(bob, ann)).toEqual({ user: { id: ann, username: "ann", displayName: "ANN" }, since: 7_000 });
    expect([await contactsOf(bob), await contactsOf(ann), await incomingOf(bob)]).toEqual([["ann"], ["bob"], []]);
    expect(f.presence.told.sort()).toEqual([`${ann}: +${bob}`, `${bob}: +${ann}`].sort());
    expect(f.store.calls).toEqual([]);
    await expect(f.contacts.flushOutbox()).rejects.toThrow("store unreachable");
    f.store.failure = undefined;
    await f.contacts.flushOutbox();
    expect([f.store.lastWord(bob, ann), f.store.lastWord(ann, bob)]).toEqual([
      { blocking: false, contact: true },
      { blocking: false, contact: true },
    ]);
    expect(await f.pending()).toEqual([]);
  });

  it("answers a request that accepts the other's OK when the store cannot be told, and the outbox brings the store to both sides", async () => {
    await f.contacts.sendRequest(ann, bob);
    f.store.failure = new Error("store unreachable");
    expect(await f.contacts.sendRequest(bob, ann)).toEqual({ accepted: true });
    expect([await contactsOf(ann), await contactsOf(bob)]).toEqual([["bob"], ["ann"]]);
    f.store.failure = undefined;
    await f.contacts.flushOutbox();
    expect([f.store.lastWord(ann, bob), f.store.lastWord(bob, ann)]).toEqual([
      { blocking: false, contact: true },
      { blocking: false, contact: true },
    ]);
  });

  it("answers RemoveContact OK when the store cannot be told, and the outbox brings the store to both sides", async () => {
    await f.contacts.sendRequest(ann, bob);
    await f.contacts.accept(bob, ann);
    f.store.failure = new Error("store unreachable");
    await f.contacts.remove(ann, bob);
    expect([await contactsOf(ann), await contactsOf(bob)]).toEqual([[], []]);
    f.store.failure = undefined;
    await f.contacts.flushOutbox();
    expect([f.store.lastWord(ann, bob), f.store.lastWord(bob, ann)]).toEqual([
      { blocking: false, contact: false },
      { blocking: false, contact: false },
    ]);
    expect(await f.pending()).toEqual([]);
  });

  it("gives the store nothing to hear when RemoveContact finds no contact", async () => {
    expect(await refusal(f.contacts.remove(ann, bob))).toBe("not_found");
    expect(await f.pending()).toEqual([]);
    await f.contacts.flushOutbox();
    expect(f.store.calls).toEqual([]);
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
    expect(await f.pending()).toEqual([]);
  });

  it("counts each side's contacts once, in the write that checks them", async () => {
    await f.contacts.sendRequest(ann, bob);
    f.statements.length = 0;
    await f.contacts.accept(bob, ann);
    expect(f.statements.filter((sql) => /COUNT\(/i.test(sql))).toHaveLength(2);
  });
});

describe("blocks", () => {
  it("refuses to block oneself or an unknown user", async () => {
    expect(await refusal(f.contacts.block(ann, ann))).toBe("invalid_argument");
    expect(await refusal(f.contacts.block(ann, ghost))).toBe("not_found");
    expect(await refusal(f.contacts.unblock(ann, ghost))).toBe("not_found");
    expect(f.store.calls).toEqual([]);
  });

  it("writes a block and lifts it here first, and answers once the store has it, carrying whether the two are contacts", async () => {
    await f.contacts.sendRequest(ann, bob);
    await f.contacts.accept(bob, ann);
    f.store.calls.length = 0;
    await f.contacts.block(ann, bob);
    expect((await relation(ann, bob)).blocking).toBe(true);
    await f.contacts.unblock(ann, bob);
    expect((await relation(ann, bob)).blocking).toBe(false);
    expect(f.store.calls).toEqual([
      { userId: ann, peerUserId: bob, blocking: true, contact: true, blockedLocally: true },
      { userId: ann, peerUserId: bob, blocking: false, contact: true, blockedLocally: false },
    ]);
    expect(await f.pending()).toEqual([]);
  });

  it("fails Block while the store refuses but keeps the block here, and the outbox brings the store to it", async () => {
    f.store.refusals = 2;
    await expect(f.contacts.block(ann, bob)).rejects.toThrow("store unreachable");
    expect(names((await f.contacts.listBlocked(ann, 0, "")).items)).toEqual(["bob"]);
    expect(await relation(bob, ann)).toMatchObject({ blockedBy: true, presenceVisible: false });
    expect(await refusal(f.contacts.sendRequest(bob, ann))).toBe("permission_denied");
    await expect(f.contacts.flushOutbox()).rejects.toThrow("store unreachable");
    expect(f.store.lastWord(ann, bob)).toBeUndefined();
    await f.contacts.flushOutbox();
    expect(f.store.lastWord(ann, bob)).toEqual({ blocking: true, contact: false });
    expect(await f.pending()).toEqual([]);
    await f.contacts.flushOutbox();
    expect(f.store.calls).toHaveLength(1);
  });

  it("fails Unblock while the store refuses but lifts the block here, and the outbox brings the store to it", async () => {
    await f.contacts.block(ann, bob);
    f.store.refusals = 1;
    await expect(f.contacts.unblock(ann, bob)).rejects.toThrow("store unreachable");
    expect((await f.contacts.listBlocked(ann, 0, "")).items).toEqual([]);
    expect(f.store.lastWord(ann, bob)).toEqual({ blocking: true, contact: false });
    await f.contacts.flushOutbox();
    expect(f.store.lastWord(ann, bob)).toEqual({ blocking: false, contact: false });
    expect(await f.pending()).toEqual([]);
  });

  it("pushes only the latest state of a pair: a block the store never heard of is not replayed after the unblock", async () => {
    f.store.refusals = 1;
    await expect(f.contacts.block(ann, bob)).rejects.toThrow("store unreachable");
    await f.contacts.unblock(ann, bob);
    await f.contacts.flushOutbox();
    expect(f.store.calls.map((c) => c.blocking)).toEqual([false]);
  });

  it("replaces a pending entry when the contact ends, so the store hears the pair without it", async () => {
    await f.contacts.sendRequest(ann, bob);
    await f.contacts.accept(bob, ann);
    f.store.refusals = 1;
    await expect(f.contacts.block(ann, bob)).rejects.toThrow("store unreachable");
    await f.contacts.remove(ann, bob);
    await f.contacts.flushOutbox();
    expect(f.store.lastWord(ann, bob)).toEqual({ blocking: true, contact: false });
  });

  it("pushes, from a new process over the same file, a block whose push the previous process never finished", async () => {
    let reached = (): void => {};
    const storeReached = new Promise<void>((resolve) => (reached = resolve));
    f.store.beforeAnswer = () => {
      reached();
      return new Promise<void>(() => {}); // the process dies here: the store never answers
    };
    void f.contacts.block(ann, bob);
    await storeReached;
    const next = await openContactsFixture({ file: f.file });
    try {
      expect(names((await next.contacts.listBlocked(ann, 0, "")).items)).toEqual(["bob"]);
      await next.contacts.flushOutbox();
      expect(next.store.lastWord(ann, bob)).toEqual({ blocking: true, contact: false });
      expect(await next.pending()).toEqual([]);
    } finally {
      await next.close();
    }
  });

  it("pushes a pair's pending entry under the pair's lock: a change of the pair waits, and its newer state reaches the store last", async () => {
    f.store.refusals = 1;
    await expect(f.contacts.block(ann, bob)).rejects.toThrow("store unreachable");
    let release = (): void => {};
    let reached = (): void => {};
    const storeReached = new Promise<void>((resolve) => (reached = resolve));
    // Holds the flush's push in the store; later calls are answered at once.
    f.store.beforeAnswer = () => {
      f.store.beforeAnswer = async () => {};
      reached();
      return new Promise<void>((resolve) => (release = resolve));
    };
    const flushed = f.contacts.flushOutbox();
    await storeReached;
    const unblocked = f.contacts.unblock(ann, bob);
    for (let i = 0; i < 20; i++) await Promise.resolve();
    release();
    await Promise.all([flushed, unblocked]);
    expect(f.store.calls.map((c) => c.blocking)).toEqual([true, false]);
    expect(await f.pending()).toEqual([]);
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
      let accepted = false;
      const accept = (): Promise<unknown> => f.contacts.accept(ann, bob).then(() => (accepted = true), () => undefined);
      const block = (): Promise<unknown> => f.contacts.block(bob, ann);
      await Promise.all(blockFirst ? [block(), accept()] : [accept(), block()]);
      const seenByAnn = await relation(ann, bob);
      const seenByBob = await relation(bob, ann);
      // The pair lock takes the two in the order they were called.
      expect(accepted).toBe(!blockFirst);
      expect(seenByBob.blocking).toBe(true);
      expect(f.store.lastWord(bob, ann)).toEqual({ blocking: true, contact: seenByBob.contact });
      // An accept that resolved made the contact and told both sides; one that lost the race
      // to the block (which dropped the request) told neither.
      expect(seenByAnn.contact, `accepted: ${accepted}, block first: ${blockFirst}`).toBe(accepted);
      expect(f.store.lastWord(ann, bob)).toEqual(accepted ? { blocking: false, contact: true } : undefined);
      const toldContact = (user: string, peer: string): boolean => f.store.calls.some((c) => c.userId === user && c.peerUserId === peer && c.contact);
      expect([toldContact(ann, bob), toldContact(bob, ann)]).toEqual([accepted, accepted]);
      expect(await f.pending()).toEqual([]);
    }
  });
});

describe("the outbox pass", () => {
  /** Leaves ann's block of bob, then cat's, pending (oldest first), the store refusing both. */
  async function twoPendingBlocks(): Promise<void> {
    f.store.failure = new Error("store unreachable");
    await expect(f.contacts.block(ann, bob)).rejects.toThrow("store unreachable");
    await expect(f.contacts.block(cat, bob)).rejects.toThrow("store unreachable");
    f.store.failure = undefined;
  }

  it("goes on past an entry the store refuses for good, keeps that entry, and throws the refusal once the pass is over", async () => {
    await twoPendingBlocks();
    const refused = new ConnectError("the store will not take this one", Code.FailedPrecondition);
    f.store.beforeAnswer = async (user) => {
      if (user === ann) throw refused;
    };
    await expect(f.contacts.flushOutbox()).rejects.toBe(refused);
    // cat's block, behind the refused entry, reached the store all the same.
    expect(f.store.lastWord(cat, bob)).toEqual({ blocking: true, contact: false });
    expect((await f.pending()).map((e) => [e.userId, e.peerUserId])).toEqual([[ann, bob]]);
    f.store.beforeAnswer = async () => {};
    await f.contacts.flushOutbox();
    expect(f.store.lastWord(ann, bob)).toEqual({ blocking: true, contact: false });
    expect(await f.pending()).toEqual([]);
  });

  it("stops at a failure that says the store is down, slow or failing, leaving the later entries for the next pass", async () => {
    await twoPendingBlocks();
    const transient = [Code.Unavailable, Code.DeadlineExceeded, Code.Aborted, Code.ResourceExhausted, Code.Unknown, Code.Internal].map((code) => new ConnectError("store trouble", code));
    for (const failure of [new Error("socket hang up"), ...transient]) {
      f.store.beforeAnswer = async (user) => {
        if (user === ann) throw failure;
      };
      await expect(f.contacts.flushOutbox()).rejects.toBe(failure);
      expect(f.store.calls, failure.message).toEqual([]);
    }
    expect(await f.pending()).toHaveLength(2);
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

  it("pages through contacts by username, as a range of an index that sorts nothing", async () => {
    for (const name of ["gus", "bob", "fay", "dan", "eve"]) {
      await f.contacts.sendRequest(idOf(name), ann);
      await f.contacts.accept(ann, idOf(name));
    }
    const pages = await walk((t) => f.contacts.listContacts(ann, 2, t));
    expect(pages.map(names)).toEqual([["bob", "dan"], ["eve", "fay"], ["gus"]]);
    expect((await f.contacts.listContacts(ann, 0, "")).items.map((c) => [c.user.id, c.user.displayName])).toEqual(
      ["bob", "dan", "eve", "fay", "gus"].map((n) => [idOf(n), n.toUpperCase()]),
    );

    const second = (await f.contacts.listContacts(ann, 2, "")).nextPageToken;
    f.statements.length = 0;
    await f.contacts.listContacts(ann, 2, second);
    expect(f.statements).toHaveLength(1);
    const page = f.statements[0]!;
    const plan = f.db.prepare<[], { detail: string }>(`EXPLAIN QUERY PLAN ${page}`).all().map((r) => r.detail);
    expect(plan.join("\n")).toMatch(/contacts/);
    expect(plan.filter((d) => /TEMP B-TREE|SCAN/.test(d))).toEqual([]);
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

describe("presence is told whose sight changed", () => {
  it("both ways on a new contact, a block, an unblock and a removal; nothing for a change that shows nobody more or less", async () => {
    await f.contacts.sendRequest(ann, bob);
    expect(f.presence.told).toEqual([]);
    await f.contacts.accept(bob, ann);
    expect(f.presence.told.sort()).toEqual([`${ann}: +${bob}`, `${bob}: +${ann}`].sort());

    f.presence.told.length = 0;
    await f.contacts.block(ann, bob);
    expect(f.presence.told.sort()).toEqual([`${ann}: -${bob}`, `${bob}: -${ann}`].sort());
    f.presence.told.length = 0;
    await f.contacts.block(ann, bob);
    expect(f.presence.told).toEqual([]);
    await f.contacts.unblock(ann, bob);
    expect(f.presence.told.sort()).toEqual([`${ann}: +${bob}`, `${bob}: +${ann}`].sort());

    f.presence.told.length = 0;
    await f.contacts.remove(bob, ann);
    expect(f.presence.told.sort()).toEqual([`${ann}: -${bob}`, `${bob}: -${ann}`].sort());
    // Blocking a stranger changes nobody's sight.
    f.presence.told.length = 0;
    await f.contacts.block(ann, cat);
    expect(f.presence.told).toEqual([]);
  });

  it("nothing when a stranger is blocked or unblocked, even under EVERYONE: neither pushes presence to the other before or after", async () => {
    await f.privacy.update(ann, { presenceVisibility: "everyone", messageRequests: "requests" }, ["presence_visibility"]);
    await f.privacy.update(cat, { presenceVisibility: "everyone", messageRequests: "requests" }, ["presence_visibility"]);
    await f.contacts.block(ann, cat);
    await f.contacts.unblock(ann, cat);
    await f.contacts.block(cat, ann);
    expect(f.presence.told).toEqual([]);
  });

  it("both ways when two who show presence to EVERYONE become contacts and when they stop being contacts", async () => {
    await f.privacy.update(ann, { presenceVisibility: "everyone", messageRequests: "requests" }, ["presence_visibility"]);
    await f.privacy.update(bob, { presenceVisibility: "everyone", messageRequests: "requests" }, ["presence_visibility"]);
    await f.contacts.sendRequest(ann, bob);
    await f.contacts.accept(bob, ann);
    // Only contacts are pushed presence: each now is, and has a screen to start updating.
    expect(f.presence.told.sort()).toEqual([`${ann}: +${bob}`, `${bob}: +${ann}`].sort());
    f.presence.told.length = 0;
    await f.contacts.remove(ann, bob);
    // Each may still ask GetPresence of the other, but is pushed nothing more: `hidden` now
    // keeps their screen from showing a state that will never be updated.
    expect(f.presence.told.sort()).toEqual([`${ann}: -${bob}`, `${bob}: -${ann}`].sort());
  });

  it("only the directions the privacy settings allow; a move to or from nobody tells the contacts", async () => {
    await f.privacy.update(bob, { presenceVisibility: "nobody", messageRequests: "requests" }, ["presence_visibility"]);
    await f.contacts.sendRequest(ann, bob);
    await f.contacts.sendRequest(cat, bob);
    await f.contacts.accept(bob, ann);
    await f.contacts.accept(bob, cat);
    // Bob shows presence to nobody: only bob gained sight of his new contacts.
    expect(f.presence.told.sort()).toEqual([`${ann}: +${bob}`, `${cat}: +${bob}`].sort());

    f.presence.told.length = 0;
    await f.privacy.update(bob, { presenceVisibility: "everyone", messageRequests: "requests" }, ["presence_visibility"]);
    expect(f.presence.told).toHaveLength(1);
    expect(f.presence.told[0]!.split(" ").sort()).toEqual([`${bob}:`, `+${ann}`, `+${cat}`].sort());
    f.presence.told.length = 0;
    await f.privacy.update(bob, { presenceVisibility: "contacts", messageRequests: "requests" }, ["presence_visibility"]);
    expect(f.presence.told).toEqual([]);
    await f.contacts.block(bob, cat);
    f.presence.told.length = 0;
    await f.privacy.update(bob, { presenceVisibility: "nobody", messageRequests: "requests" }, ["presence_visibility"]);
    expect(f.presence.told).toEqual([`${bob}: -${ann}`]);
  });
});
