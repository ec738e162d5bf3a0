import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AnnounceRecord } from "../domain/announce-window.js";
import type { AnnounceBoard } from "./announce-board.js";

/**
 * One place where announcement records are kept, empty at first. `open` may be called
 * several times: each call is another replica's board on the same records.
 */
export interface AnnounceBoardLocation {
  open(): Promise<AnnounceBoard>;
  /** Removes the records. */
  destroy(): Promise<void>;
}

/** The one contract of the AnnounceBoard port; every adapter runs it. */
export function announceBoardContract(adapter: string, fresh: () => Promise<AnnounceBoardLocation>): void {
  describe(`AnnounceBoard contract: ${adapter}`, () => {
    let location: AnnounceBoardLocation;
    const opened: AnnounceBoard[] = [];
    const open = async (): Promise<AnnounceBoard> => {
      const board = await location.open();
      opened.push(board);
      return board;
    };
    beforeEach(async () => {
      location = await fresh();
    });
    afterEach(async () => {
      for (const b of opened.splice(0)) await b.close();
      await location.destroy();
    });
    const held: AnnounceRecord = {
      announced: { userId: "alice", online: true, lastSeenAt: 0 },
      pending: { userId: "alice", online: false, lastSeenAt: 1_700_000_000_123 },
      windowEndsAt: 1_700_000_001_123,
    };

    it("has no record for a user never written, and returns a written one as it was", async () => {
      const board = await open();
      expect(await board.get("alice")).toBeUndefined();
      expect(await board.swap("alice", held, 0)).toBe(true);
      const got = await board.get("alice");
      expect(got?.record).toEqual(held);
      expect(got?.revision).toBeGreaterThan(0);
      const fresh: AnnounceRecord = { announced: undefined, pending: undefined, windowEndsAt: 0 };
      expect(await board.swap("bob", fresh, 0)).toBe(true);
      expect((await board.get("bob"))?.record).toEqual(fresh);
    });

    it("refuses a write naming a revision the record has moved on from, and keeps the record", async () => {
      const board = await open();
      await board.swap("alice", held, 0);
      const first = (await board.get("alice"))!;
      const sent: AnnounceRecord = { announced: held.pending, pending: undefined, windowEndsAt: held.windowEndsAt + 1_000 };
      expect(await board.swap("alice", sent, first.revision)).toBe(true);
      expect(await board.swap("alice", held, first.revision)).toBe(false);
      expect(await board.swap("alice", held, 0)).toBe(false);
      const now = (await board.get("alice"))!;
      expect(now.record).toEqual(sent);
      expect(now.revision).not.toBe(first.revision);
    });

    it("lets exactly one of several replicas win a write at the same revision", async () => {
      const boards = [await open(), await open(), await open()];
      await boards[0]!.swap("alice", held, 0);
      const { revision } = (await boards[1]!.get("alice"))!;
      const tries = Array.from({ length: 12 }, (_, i) => boards[i % 3]!.swap("alice", { ...held, windowEndsAt: i + 1 }, revision));
      const won = (await Promise.all(tries)).map((ok, i) => (ok ? i + 1 : 0)).filter((i) => i > 0);
      expect(won).toHaveLength(1);
      expect((await boards[2]!.get("alice"))?.record.windowEndsAt).toBe(won[0]);
      // Creating: one winner too.
      const creates = await Promise.all(boards.map((b) => b.swap("bob", held, 0)));
      expect(creates.filter(Boolean)).toHaveLength(1);
    });

    it("keeps user ids apart even when they differ only in characters a key cannot hold", async () => {
      const board = await open();
      await board.swap("a.b", { ...held, windowEndsAt: 1 }, 0);
      await board.swap("a=2Eb", { ...held, windowEndsAt: 2 }, 0);
      await board.swap("a b", { ...held, windowEndsAt: 3 }, 0);
      expect((await board.get("a.b"))?.record.windowEndsAt).toBe(1);
      expect((await board.get("a=2Eb"))?.record.windowEndsAt).toBe(2);
      expect((await board.get("a b"))?.record.windowEndsAt).toBe(3);
      expect(await board.get("a_b")).toBeUndefined();
    });
  });
}
