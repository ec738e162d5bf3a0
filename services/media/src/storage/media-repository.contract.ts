import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { MediaRecord, MediaRepository, ReadyMedia } from "./media-repository.js";

/** Where one adapter's records live: every `open()` is one more replica over the same records. */
export interface MediaRepositoryHome {
  open(): Promise<MediaRepository>;
  /** Removes the records; called once every replica opened on them is closed. */
  drop(): Promise<void>;
}

/**
 * The one contract every MediaRepository adapter must pass. An adapter's test file calls it
 * with a factory of fresh, empty homes. Besides what one replica sees, it checks the steps
 * two replicas may take at once on the same record: completing it, and marking a send.
 */
export function mediaRepositoryContract(adapter: string, fresh: () => Promise<MediaRepositoryHome>): void {
  describe(`MediaRepository contract: ${adapter}`, () => {
    let home: MediaRepositoryHome;
    let repo: MediaRepository;
    let open: MediaRepository[] = [];
    beforeEach(async () => {
      home = await fresh();
      repo = await home.open();
      open = [repo];
    });
    afterEach(async () => {
      for (const r of open) await r.close();
      await home.drop();
    });
    /** Another replica over the same records, closed after the test. */
    const replica = async (): Promise<MediaRepository> => {
      const r = await home.open();
      open.push(r);
      return r;
    };

    const upload = (id: string, over: Partial<MediaRecord> = {}): MediaRecord => ({
      id,
      conversationId: "dm_alice_bob",
      uploaderUserId: "alice",
      fileName: `${id}.png`,
      declaredMimeType: "image/png",
      declaredSize: 1_000,
      sha256: "ab".repeat(32),
      createdAt: 1_000,
      uploadExpiresAt: 2_000,
      ...over,
    });
    const image = (id: string, completedAt: number, over: Partial<ReadyMedia> = {}): ReadyMedia => ({
      mimeType: "image/png",
      size: 900,
      width: 640,
      height: 480,
      preview: new Uint8Array([0, 1, 2, 250, 255]),
      originalKey: `media/${id}/original`,
      thumbnail: { key: `media/${id}/thumbnail`, mimeType: "image/webp", size: 120 },
      completedAt,
      ...over,
    });
    const ids = (records: readonly MediaRecord[]): string[] => records.map((r) => r.id);

    it("returns a reserved upload as it was recorded, pending, and nothing for an unknown id", async () => {
      const r = upload("m_1", { fileName: "holiday ✓.png", declaredSize: 3_000_000_000 });
      await repo.insert(r);
      const got = await repo.get("m_1");
      expect(got).toEqual(r);
      expect(got?.ready).toBeUndefined();
      expect(got?.lastResolvedAt).toBeUndefined();
      expect(await repo.get("m_2")).toBeUndefined();
      expect(await repo.get("")).toBeUndefined();
    });

    it("refuses a second record with an id already taken, and keeps the first", async () => {
      await repo.insert(upload("m_1"));
      await expect(repo.insert(upload("m_1", { uploaderUserId: "mallory", declaredSize: 1 }))).rejects.toThrow();
      expect(await repo.get("m_1")).toEqual(upload("m_1"));
    });

    it("records an image's completion with its thumbnail and preview bytes, once: completing again changes nothing and says so", async () => {
      await repo.insert(upload("m_1"));
      const first = image("m_1", 1_500);
      expect(await repo.markReady("m_1", first)).toBe(true);
      const got = await repo.get("m_1");
      expect(got).toEqual({ ...upload("m_1"), ready: first });
      // A plain Uint8Array, like every bytes field the protobuf messages carry.
      expect(got?.ready?.preview).toBeInstanceOf(Uint8Array);
      expect(Buffer.isBuffer(got?.ready?.preview)).toBe(false);
      expect(await repo.markReady("m_1", image("m_1", 1_600, { mimeType: "image/jpeg", size: 1 }))).toBe(false);
      expect((await repo.get("m_1"))?.ready).toEqual(first);
    });

    it("records a file's completion with no thumbnail and an empty preview", async () => {
      await repo.insert(upload("m_f", { fileName: "report.pdf", declaredMimeType: "application/pdf" }));
      const file: ReadyMedia = { mimeType: "application/pdf", size: 1_000, width: 0, height: 0, preview: new Uint8Array(), originalKey: "media/m_f/original", completedAt: 1_500 };
      expect(await repo.markReady("m_f", file)).toBe(true);
      const ready = (await repo.get("m_f"))?.ready;
      expect(ready).toEqual(file);
      expect(ready?.thumbnail).toBeUndefined();
    });

    it("does not complete a record that does not exist or was deleted, and does not bring it back", async () => {
      expect(await repo.markReady("m_none", image("m_none", 1_500))).toBe(false);
      expect(await repo.get("m_none")).toBeUndefined();
      await repo.insert(upload("m_1"));
      await repo.delete(["m_1"]);
      expect(await repo.markReady("m_1", image("m_1", 1_500))).toBe(false);
      expect(await repo.get("m_1")).toBeUndefined();
    });

    it("lets exactly one of two replicas complete the same upload at once, and keeps what that one wrote", async () => {
      const other = await replica();
      for (let i = 0; i < 10; i++) {
        const id = `m_race${i}`;
        await repo.insert(upload(id));
        const mine = image(id, 1_500, { width: 1 });
        const theirs = image(id, 1_501, { width: 2 });
        const [a, b] = await Promise.all([repo.markReady(id, mine), other.markReady(id, theirs)]);
        expect([a, b].filter(Boolean)).toHaveLength(1);
        const stored = (await other.get(id))?.ready;
        expect(stored).toEqual(a ? mine : theirs);
        expect((await repo.get(id))?.ready).toEqual(stored);
      }
    });

    it("keeps the latest mark of a send, whatever order the marks arrive in, and creates nothing for an unknown id", async () => {
      await repo.insert(upload("m_1"));
      await repo.markReady("m_1", image("m_1", 1_500));
      await repo.touch("m_1", 5_000);
      expect((await repo.get("m_1"))?.lastResolvedAt).toBe(5_000);
      // A send checked earlier whose mark arrives later.
      await repo.touch("m_1", 4_000);
      expect((await repo.get("m_1"))?.lastResolvedAt).toBe(5_000);
      await repo.touch("m_1", 6_000);
      expect((await repo.get("m_1"))?.lastResolvedAt).toBe(6_000);
      // Two replicas marking sends at once.
      const other = await replica();
      await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? repo : other).touch("m_1", 7_000 + i)));
      expect((await repo.get("m_1"))?.lastResolvedAt).toBe(7_019);
      await repo.touch("m_none", 5_000);
      expect(await repo.get("m_none")).toBeUndefined();
    });

    it("sums the declared sizes of a user's uploads created since a time (inclusive), completed or not, and only that user's", async () => {
      expect(await repo.bytesReservedSince("alice", 0)).toBe(0);
      await repo.insert(upload("m_old", { createdAt: 999, declaredSize: 7 }));
      await repo.insert(upload("m_at", { createdAt: 1_000, declaredSize: 3_000_000_000 }));
      await repo.insert(upload("m_new", { createdAt: 1_200, declaredSize: 2_000_000_000 }));
      await repo.insert(upload("m_bob", { createdAt: 1_100, uploaderUserId: "bob", declaredSize: 11 }));
      await repo.markReady("m_new", image("m_new", 1_300));
      expect(await repo.bytesReservedSince("alice", 1_000)).toBe(5_000_000_000);
      expect(await repo.bytesReservedSince("alice", 0)).toBe(5_000_000_007);
      expect(await repo.bytesReservedSince("alice", 1_201)).toBe(0);
      expect(await repo.bytesReservedSince("bob", 0)).toBe(11);
      expect(await repo.bytesReservedSince("carol", 0)).toBe(0);
    });

    it("lists pending uploads whose URL expired before a time, oldest expiry first, at most `limit`", async () => {
      await repo.insert(upload("m_c", { uploadExpiresAt: 300 }));
      await repo.insert(upload("m_a", { uploadExpiresAt: 100 }));
      await repo.insert(upload("m_b", { uploadExpiresAt: 200 }));
      await repo.insert(upload("m_at", { uploadExpiresAt: 400 }));
      await repo.insert(upload("m_done", { uploadExpiresAt: 50 }));
      await repo.markReady("m_done", image("m_done", 60));
      expect(ids(await repo.abandonedUploads(400, 10))).toEqual(["m_a", "m_b", "m_c"]);
      expect(ids(await repo.abandonedUploads(400, 2))).toEqual(["m_a", "m_b"]);
      expect(ids(await repo.abandonedUploads(100, 10))).toEqual([]);
      expect(ids(await repo.abandonedUploads(400, 0))).toEqual([]);
      expect((await repo.abandonedUploads(150, 10))[0]).toEqual(upload("m_a", { uploadExpiresAt: 100 }));
    });

    it("pages through completed media by id, those completed before a time only", async () => {
      for (const id of ["m_e", "m_b", "m_d", "m_a", "m_c", "m_pending", "m_late"]) await repo.insert(upload(id));
      for (const id of ["m_e", "m_b", "m_d", "m_a", "m_c"]) await repo.markReady(id, image(id, 1_500));
      await repo.markReady("m_late", image("m_late", 2_000));
      await repo.touch("m_c", 1_800);
      const first = await repo.readyMedia(2_000, "", 2);
      expect(ids(first)).toEqual(["m_a", "m_b"]);
      expect(ids(await repo.readyMedia(2_000, "m_b", 2))).toEqual(["m_c", "m_d"]);
      expect(ids(await repo.readyMedia(2_000, "m_d", 2))).toEqual(["m_e"]);
      expect(ids(await repo.readyMedia(2_001, "", 10))).toEqual(["m_a", "m_b", "m_c", "m_d", "m_e", "m_late"]);
      expect(ids(await repo.readyMedia(2_000, "", 0))).toEqual([]);
      expect(first[0]).toEqual({ ...upload("m_a"), ready: image("m_a", 1_500) });
      expect((await repo.readyMedia(2_000, "m_b", 1))[0]?.lastResolvedAt).toBe(1_800);
    });

    it("deletes the given records and only those; unknown ids and an empty list are fine", async () => {
      for (const id of ["m_1", "m_2", "m_3"]) await repo.insert(upload(id));
      await repo.markReady("m_2", image("m_2", 1_500));
      await repo.delete([]);
      await repo.delete(["m_1", "m_2", "m_none"]);
      expect(await repo.get("m_1")).toBeUndefined();
      expect(await repo.get("m_2")).toBeUndefined();
      expect(await repo.get("m_3")).toEqual(upload("m_3"));
      expect(await repo.bytesReservedSince("alice", 0)).toBe(1_000);
      // What another replica deleted is gone for this one too.
      await (await replica()).delete(["m_3"]);
      expect(await repo.get("m_3")).toBeUndefined();
    });

    it("keeps every record, completed or not, across a restart, and shows each replica's writes to the others", async () => {
      await repo.insert(upload("m_1"));
      await repo.insert(upload("m_2"));
      await repo.markReady("m_2", image("m_2", 1_500));
      await repo.touch("m_2", 1_700);
      await repo.close();
      open = [];
      const again = await replica();
      expect(await again.get("m_1")).toEqual(upload("m_1"));
      expect(await again.get("m_2")).toEqual({ ...upload("m_2"), ready: image("m_2", 1_500), lastResolvedAt: 1_700 });
      const other = await replica();
      await other.insert(upload("m_3"));
      expect(await again.get("m_3")).toEqual(upload("m_3"));
    });
  });
}
