import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { LastSeenStore } from "./last-seen-store.js";

/**
 * One place where last seen is kept (a file, a bucket), empty at first. `open` may be called
 * several times: each call is a new store instance (as after a restart) on the same data.
 */
export interface LastSeenLocation {
  open(): Promise<LastSeenStore>;
  /** Removes the data. */
  destroy(): Promise<void>;
}

/** The one contract of the LastSeenStore port; every adapter runs it. */
export function lastSeenStoreContract(adapter: string, fresh: () => Promise<LastSeenLocation>): void {
  describe(`LastSeenStore contract: ${adapter}`, () => {
    let location: LastSeenLocation;
    const opened: LastSeenStore[] = [];
    const open = async (): Promise<LastSeenStore> => {
      const store = await location.open();
      opened.push(store);
      return store;
    };
    beforeEach(async () => {
      location = await fresh();
    });
    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close();
      await location.destroy();
    });

    it("returns the stored time of each user asked for, and nothing for users never seen", async () => {
      const store = await open();
      await store.put("alice", 1_700_000_000_123);
      await store.put("bob", 1_700_000_000_456);
      const got = await store.get(["alice", "bob", "carol", "alice"]);
      expect([...got.entries()].sort()).toEqual([
        ["alice", 1_700_000_000_123],
        ["bob", 1_700_000_000_456],
      ]);
      expect((await store.get([])).size).toBe(0);
    });

    it("keeps the later time: a newer put replaces, an older one is ignored", async () => {
      const store = await open();
      await store.put("alice", 2_000);
      await store.put("alice", 3_000);
      expect((await store.get(["alice"])).get("alice")).toBe(3_000);
      await store.put("alice", 2_500);
      expect((await store.get(["alice"])).get("alice")).toBe(3_000);
    });

    it("keeps the latest of concurrent puts for one user", async () => {
      const store = await open();
      const times = Array.from({ length: 20 }, (_, i) => 10_000 + ((i * 7) % 20) * 100);
      await Promise.all(times.map((t) => store.put("alice", t)));
      expect((await store.get(["alice"])).get("alice")).toBe(Math.max(...times));
    });

    it("a new store instance on the same data reads what the old one wrote", async () => {
      const before = await open();
      await before.put("alice", 1_700_000_000_999);
      await before.put("u|idp@example.com", 1_700_000_001_000);
      await before.close();
      opened.splice(opened.indexOf(before), 1);
      const after = await open();
      const got = await after.get(["alice", "u|idp@example.com"]);
      expect(got.get("alice")).toBe(1_700_000_000_999);
      expect(got.get("u|idp@example.com")).toBe(1_700_000_001_000);
    });

    it("keeps user ids apart even when they differ only in characters a key cannot hold", async () => {
      const store = await open();
      await store.put("a.b", 1_000);
      await store.put("a=2Eb", 2_000);
      await store.put("a b", 3_000);
      const got = await store.get(["a.b", "a=2Eb", "a b", "a_b"]);
      expect(Object.fromEntries(got)).toEqual({ "a.b": 1_000, "a=2Eb": 2_000, "a b": 3_000 });
    });
  });
}
