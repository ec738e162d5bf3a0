import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AccountsRepositories } from "./accounts-repositories.js";
import type { PrivacySettings } from "./contacts-repository.js";

/**
 * The contract every ContactsRepository adapter (with its direct-relation outbox) passes: an
 * adapter's test file calls it with a factory of fresh, empty repositories. Users are
 * "ann", "bob", ... with ids that sort unlike their names, so a list by the wrong key shows.
 * Steps that count against a limit also run twice at once, as two replicas would.
 */
export function contactsRepositoryContract(adapter: string, open: () => Promise<AccountsRepositories>): void {
  describe(`ContactsRepository contract: ${adapter}`, () => {
    let repo: AccountsRepositories;
    const names = ["ann", "bob", "cat", "dan", "eve"] as const;
    /** A user's id: the name backwards. */
    const id = (name: string): string => `u_${[...name].reverse().join("")}`;
    const [ann, bob, cat, dan, eve] = names.map(id) as [string, string, string, string, string];
    const defaults: PrivacySettings = { presenceVisibility: "contacts", messageRequests: "requests" };
    const nameOf = (userId: string): string => names.find((n) => id(n) === userId)!;
    const summary = (name: string) => ({ id: id(name), username: name, displayName: name.toUpperCase() });

    beforeEach(async () => {
      repo = await open();
      for (const name of names) await repo.insertUser({ id: id(name), username: name, displayName: name.toUpperCase(), passwordHash: "x", createdAt: 0 });
    });
    afterEach(async () => {
      await repo.close();
    });

    const pending = () => repo.pendingDirectRelations(0, 1000);

    describe("pairs", () => {
      it("answers the pair as each side sees it, and undefined for a peer with no account", async () => {
        expect(await repo.pairState(ann, "u_nobody")).toBeUndefined();
        expect(await repo.pairState(ann, bob)).toEqual({ peer: summary("bob"), contact: false, asked: false, askedBy: false, blocking: false, blockedBy: false });
        expect(await repo.putRequest(ann, bob, 10, 5)).toBe(true);
        expect(await repo.pairState(ann, bob)).toMatchObject({ asked: true, askedBy: false });
        expect(await repo.pairState(bob, ann)).toMatchObject({ asked: false, askedBy: true });
        await repo.putBlock(bob, ann, 20);
        expect(await repo.pairState(ann, bob)).toMatchObject({ asked: false, blocking: false, blockedBy: true });
        expect(await repo.pairState(bob, ann)).toMatchObject({ askedBy: false, blocking: true, blockedBy: false });
      });

      it("keeps a request on both sides until it is deleted by its direction", async () => {
        await repo.putRequest(ann, bob, 10, 5);
        // The asked side cannot withdraw it as if it had asked.
        expect(await repo.deleteRequest(bob, ann)).toBe(false);
        expect(await repo.deleteRequest(ann, bob)).toBe(true);
        expect(await repo.deleteRequest(ann, bob)).toBe(false);
        expect(await repo.pairState(bob, ann)).toMatchObject({ askedBy: false });
        expect(await repo.listRequests(bob, "incoming", undefined, 10)).toEqual([]);
      });

      it("refuses a request past the pending limit and writes nothing", async () => {
        expect(await repo.putRequest(ann, bob, 10, 2)).toBe(true);
        expect(await repo.putRequest(ann, cat, 11, 2)).toBe(true);
        expect(await repo.putRequest(ann, dan, 12, 2)).toBe(false);
        expect(await repo.pairState(dan, ann)).toMatchObject({ askedBy: false });
        // Incoming requests do not count against the asked user's limit.
        expect(await repo.putRequest(dan, ann, 13, 2)).toBe(true);
      });

      it("lets one of two requests racing for the last pending place through", async () => {
        await repo.putRequest(ann, bob, 10, 2);
        const results = await Promise.all([repo.putRequest(ann, cat, 11, 2), repo.putRequest(ann, dan, 12, 2)]);
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await repo.listRequests(ann, "outgoing", undefined, 10)).toHaveLength(2);
      });

      it("makes two users contacts on both sides, drops their requests, and queues both sides for the store", async () => {
        await repo.putRequest(ann, bob, 10, 5);
        expect(await repo.addContact(bob, ann, 20, 5)).toBe(true);
        expect(await repo.pairState(ann, bob)).toMatchObject({ contact: true, asked: false, askedBy: false });
        expect(await repo.pairState(bob, ann)).toMatchObject({ contact: true, asked: false, askedBy: false });
        expect(await repo.contactCount(ann)).toBe(1);
        expect(await repo.listContacts(ann, undefined, 10)).toEqual([{ user: summary("bob"), since: 20 }]);
        expect((await pending()).map(({ userId, peerUserId, blocking, contact }) => ({ userId, peerUserId, blocking, contact })).sort((a, b) => a.userId.localeCompare(b.userId))).toEqual(
          [
            { userId: bob, peerUserId: ann, blocking: false, contact: true },
            { userId: ann, peerUserId: bob, blocking: false, contact: true },
          ].sort((a, b) => a.userId.localeCompare(b.userId)),
        );
      });

      it("refuses a contact when either side is full, writing and queuing nothing", async () => {
        await repo.addContact(bob, cat, 1, 1);
        await repo.putRequest(ann, bob, 10, 5);
        for (const entry of await pending()) await repo.clearDirectRelation(entry);
        expect(await repo.addContact(ann, bob, 20, 1)).toBe(false);
        expect(await repo.addContact(bob, ann, 20, 1)).toBe(false);
        expect(await repo.pairState(ann, bob)).toMatchObject({ contact: false, asked: true });
        expect(await repo.contactCount(ann)).toBe(0);
        expect(await pending()).toEqual([]);
      });

      it("lets one of two contacts racing for a user's last place through", async () => {
        await repo.addContact(ann, bob, 1, 2);
        const results = await Promise.all([repo.addContact(ann, cat, 2, 2), repo.addContact(dan, ann, 3, 2)]);
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await repo.contactCount(ann)).toBe(2);
      });

      it("ends a contact on both sides and queues both; ending none writes and queues nothing", async () => {
        expect(await repo.removeContact(ann, bob)).toBe(false);
        expect(await pending()).toEqual([]);
        await repo.addContact(ann, bob, 1, 5);
        expect(await repo.removeContact(bob, ann)).toBe(true);
        expect(await repo.pairState(ann, bob)).toMatchObject({ contact: false });
        expect(await repo.contactCount(bob)).toBe(0);
        const entries = await pending();
        expect(entries).toHaveLength(2);
        expect(entries.every((e) => !e.contact && !e.blocking)).toBe(true);
      });

      it("blocks keeping the first block's time, drops requests both ways, and queues the blocker's side only", async () => {
        await repo.putRequest(ann, bob, 10, 5);
        await repo.putRequest(cat, ann, 11, 5);
        await repo.addContact(ann, dan, 12, 5);
        for (const entry of await pending()) await repo.clearDirectRelation(entry);
        await repo.putBlock(ann, bob, 100);
        await repo.putBlock(ann, bob, 200);
        await repo.putBlock(cat, ann, 300);
        await repo.putBlock(ann, dan, 400);
        expect(await repo.pairState(bob, ann)).toMatchObject({ askedBy: false, blockedBy: true });
        expect(await repo.pairState(ann, cat)).toMatchObject({ askedBy: false, blockedBy: true });
        expect(await repo.listBlocked(ann, undefined, 10)).toEqual([
          { user: summary("dan"), blockedAt: 400 },
          { user: summary("bob"), blockedAt: 100 },
        ]);
        // A block keeps the contact; the store hears both.
        expect(await repo.pendingDirectRelation(ann, dan)).toMatchObject({ blocking: true, contact: true });
        expect(await repo.pendingDirectRelation(ann, bob)).toMatchObject({ blocking: true, contact: false });
        expect(await repo.pendingDirectRelation(bob, ann)).toBeUndefined();
        await repo.deleteBlock(ann, dan);
        await repo.deleteBlock(ann, eve);
        expect(await repo.pairState(ann, dan)).toMatchObject({ blocking: false, contact: true });
        expect(await repo.pendingDirectRelation(ann, dan)).toMatchObject({ blocking: false, contact: true });
        // Unblocking someone never blocked still tells the store.
        expect(await repo.pendingDirectRelation(ann, eve)).toMatchObject({ blocking: false, contact: false });
      });
    });

    describe("direct relation outbox", () => {
      it("keeps one entry per (user, peer), the latest state under a new, higher version, oldest first", async () => {
        await repo.putBlock(ann, bob, 1);
        await repo.putBlock(cat, dan, 2);
        const first = (await repo.pendingDirectRelation(ann, bob))!;
        await repo.deleteBlock(ann, bob);
        const latest = (await repo.pendingDirectRelation(ann, bob))!;
        expect(latest).toMatchObject({ userId: ann, peerUserId: bob, blocking: false, contact: false });
        expect(latest.version).toBeGreaterThan(first.version);
        const all = await pending();
        expect(all.map((e) => [e.userId, e.peerUserId])).toEqual([
          [cat, dan],
          [ann, bob],
        ]);
        expect(all[0]!.version).toBeLessThan(all[1]!.version);
        expect((await repo.pendingDirectRelations(all[0]!.version, 10)).map((e) => e.userId)).toEqual([ann]);
        expect(await repo.pendingDirectRelations(0, 1)).toHaveLength(1);
      });

      it("drops an acknowledged entry, but not one a newer change replaced: the newer state stays pending", async () => {
        await repo.putBlock(ann, bob, 1);
        const block = (await repo.pendingDirectRelation(ann, bob))!;
        await repo.deleteBlock(ann, bob);
        expect(await repo.clearDirectRelation(block)).toBe(false);
        const unblock = (await repo.pendingDirectRelation(ann, bob))!;
        expect(unblock).toMatchObject({ blocking: false });
        expect(unblock.version).toBeGreaterThan(block.version);
        expect(await repo.clearDirectRelation(unblock)).toBe(true);
        expect(await repo.pendingDirectRelation(ann, bob)).toBeUndefined();
        expect(await pending()).toEqual([]);
      });

      it("queues the state both of two concurrent changes of one pair made", async () => {
        await repo.putRequest(ann, bob, 1, 5);
        await Promise.all([repo.putBlock(ann, bob, 2), repo.addContact(ann, bob, 3, 5)]);
        expect(await repo.pendingDirectRelation(ann, bob)).toMatchObject({ blocking: true, contact: true });
        expect(await repo.pendingDirectRelation(bob, ann)).toMatchObject({ blocking: false, contact: true });
      });
    });

    describe("lists", () => {
      it("pages contacts by username", async () => {
        for (const [i, peer] of [eve, bob, dan, cat].entries()) await repo.addContact(ann, peer, 10 + i, 10);
        const first = await repo.listContacts(ann, undefined, 2);
        expect(first.map((c) => c.user.username)).toEqual(["bob", "cat"]);
        expect(first[0]).toEqual({ user: summary("bob"), since: 11 });
        expect((await repo.listContacts(ann, "cat", 10)).map((c) => c.user.username)).toEqual(["dan", "eve"]);
        expect(await repo.listContacts(ann, "eve", 10)).toEqual([]);
      });

      it("pages requests newest first, those of one millisecond by peer id, each direction apart", async () => {
        await repo.putRequest(bob, ann, 5, 10);
        await repo.putRequest(cat, ann, 7, 10);
        await repo.putRequest(dan, ann, 7, 10);
        await repo.putRequest(ann, eve, 9, 10);
        const incoming = await repo.listRequests(ann, "incoming", undefined, 10);
        const sameMs = [cat, dan].sort().reverse();
        expect(incoming.map((r) => r.user.id)).toEqual([...sameMs, bob]);
        expect(incoming[0]).toEqual({ user: summary(nameOf(sameMs[0]!)), sentAt: 7 });
        expect((await repo.listRequests(ann, "incoming", { at: 7, peerId: sameMs[0]! }, 10)).map((r) => r.user.id)).toEqual([sameMs[1], bob]);
        expect((await repo.listRequests(ann, "incoming", { at: 7, peerId: sameMs[1]! }, 1)).map((r) => r.user.id)).toEqual([bob]);
        expect(await repo.listRequests(ann, "outgoing", undefined, 10)).toEqual([{ user: summary("eve"), sentAt: 9 }]);
        expect(await repo.listRequests(eve, "incoming", undefined, 10)).toEqual([{ user: summary("ann"), sentAt: 9 }]);
      });

      it("pages blocked users newest first", async () => {
        await repo.putBlock(ann, bob, 1);
        await repo.putBlock(ann, cat, 3);
        await repo.putBlock(ann, dan, 2);
        expect((await repo.listBlocked(ann, undefined, 2)).map((b) => b.user.username)).toEqual(["cat", "dan"]);
        expect(await repo.listBlocked(ann, { at: 2, peerId: dan }, 2)).toEqual([{ user: summary("bob"), blockedAt: 1 }]);
        expect(await repo.listBlocked(bob, undefined, 2)).toEqual([]);
      });
    });

    describe("privacy and relations", () => {
      it("has no settings until changed, then changes only the fields named, answering before and after", async () => {
        expect(await repo.privacy(ann)).toBeUndefined();
        expect(await repo.updatePrivacy(ann, { presenceVisibility: "nobody" }, defaults)).toEqual({
          before: defaults,
          after: { presenceVisibility: "nobody", messageRequests: "requests" },
        });
        expect(await repo.updatePrivacy(ann, { messageRequests: "inbox" }, defaults)).toEqual({
          before: { presenceVisibility: "nobody", messageRequests: "requests" },
          after: { presenceVisibility: "nobody", messageRequests: "inbox" },
        });
        expect(await repo.privacy(ann)).toEqual({ presenceVisibility: "nobody", messageRequests: "inbox" });
        expect(await repo.privacy(bob)).toBeUndefined();
      });

      it("keeps both of two concurrent changes, the second's before being the first's after", async () => {
        const [a, b] = await Promise.all([
          repo.updatePrivacy(ann, { presenceVisibility: "everyone" }, defaults),
          repo.updatePrivacy(ann, { messageRequests: "inbox" }, defaults),
        ]);
        expect(await repo.privacy(ann)).toEqual({ presenceVisibility: "everyone", messageRequests: "inbox" });
        const [first, second] = JSON.stringify(a.before) === JSON.stringify(defaults) ? [a, b] : [b, a];
        expect(first.before).toEqual(defaults);
        expect(second.before).toEqual(first.after);
        expect(second.after).toEqual({ presenceVisibility: "everyone", messageRequests: "inbox" });
      });

      it("answers each peer's relation with its settings, leaving out peers with no account", async () => {
        await repo.addContact(ann, bob, 1, 10);
        await repo.putBlock(ann, cat, 2);
        await repo.putBlock(dan, ann, 3);
        await repo.updatePrivacy(bob, { presenceVisibility: "everyone" }, defaults);
        const relations = await repo.peerRelations(ann, [bob, cat, dan, eve, "u_nobody", bob]);
        expect([...relations.keys()].sort()).toEqual([bob, cat, dan, eve].sort());
        expect(relations.get(bob)).toEqual({ contact: true, blocking: false, blockedBy: false, privacy: { presenceVisibility: "everyone", messageRequests: "requests" } });
        expect(relations.get(cat)).toEqual({ contact: false, blocking: true, blockedBy: false, privacy: undefined });
        expect(relations.get(dan)).toEqual({ contact: false, blocking: false, blockedBy: true, privacy: undefined });
        expect(relations.get(eve)).toEqual({ contact: false, blocking: false, blockedBy: false, privacy: undefined });
        expect(await repo.peerRelations(ann, [])).toEqual(new Map());
      });

      it("lists the contacts that neither block nor are blocked by the user, by id", async () => {
        for (const peer of [bob, cat, dan, eve]) await repo.addContact(ann, peer, 1, 10);
        await repo.putBlock(ann, cat, 2);
        await repo.putBlock(dan, ann, 3);
        await repo.putRequest(ann, "u_nobody", 4, 10);
        expect(await repo.unblockedContacts(ann)).toEqual([bob, eve].sort());
        expect(await repo.unblockedContacts("u_nobody")).toEqual([]);
      });
    });
  });
}
