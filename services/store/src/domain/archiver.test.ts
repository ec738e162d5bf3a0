import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openLocalBlobStore, type BlobStore } from "@messenger/blobs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { SegmentIndexEntry } from "../archive/segment-index.js";
import { withArchivedReads } from "../storage/archived-history-repository.js";
import type { HistoryRepository } from "../storage/history-repository.js";
import { openSqliteHistoryRepository } from "../storage/sqlite-history-repository.js";
import { archiveOldHistory, collectArchive } from "./archiver.js";
import { retentionPass } from "./retention.js";

let dir: string;
let raw: HistoryRepository;
let repo: HistoryRepository;
let blobs: BlobStore;
let conversationId: string;
const settings = { olderThanMs: 1, segmentMessages: 10 };
const noDevices = { devicesOf: async () => [] };

/** Message i (1-based) is sent at i seconds. */
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "messenger-archiver-"));
  raw = openSqliteHistoryRepository(join(dir, "history.db"));
  blobs = openLocalBlobStore({ dir: join(dir, "archive"), secret: new Uint8Array(32), publicBaseUrl: () => "" });
  repo = withArchivedReads(raw, blobs);
  conversationId = (await raw.openDirect("alice", "bob", 0, false)).id;
  for (let i = 1; i <= 25; i++) {
    await raw.append([{ conversationId, senderUserId: "alice", senderDeviceId: "phone", clientMessageId: `m${i}`, body: { kind: "text", text: `m${i}` }, replyToSeq: 0, clientSentAt: undefined, now: i * 1000 }]);
  }
});
afterEach(async () => {
  await raw.close();
  await blobs.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The segment files the local blob store holds. */
const segmentFiles = (): string[] => {
  try {
    return readdirSync(join(dir, "archive"), { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".seg"));
  } catch {
    return [];
  }
};
const seqs = async (afterSeq = 0) => (await repo.listMessages(conversationId, { afterSeq, limit: 100, direction: "forward" })).map((m) => m.seq);

describe("the archiver", () => {
  it("archives full segments of messages older than the cut-off, oldest first, within its run's bound", async () => {
    const written: SegmentIndexEntry[] = [];
    // At 15.5 s with a 1 ms cut-off only the first ten (sent by 10 s) qualify as a full segment.
    expect(await archiveOldHistory(repo, blobs, { ...settings, now: 15_500, maxSegments: 10 })).toMatchObject({ segments: 1, messages: 10, more: false });
    expect(await archiveOldHistory(repo, blobs, { ...settings, now: 100_000, maxSegments: 0 })).toMatchObject({ segments: 0, more: true });
    expect(await archiveOldHistory(repo, blobs, { ...settings, now: 100_000, maxSegments: 10, onSegment: (e) => written.push(e) })).toMatchObject({ segments: 1, more: false });
    expect(written.map((e) => [e.fromSeq, e.toSeq, e.count])).toEqual([[11, 20, 10]]);
    expect((await raw.segmentIndex(conversationId)).map((e) => [e.fromSeq, e.toSeq])).toEqual([[1, 10], [11, 20]]);
    // Five left: not a full segment. Every message reads as before.
    expect((await archiveOldHistory(repo, blobs, { ...settings, now: 100_000, maxSegments: 10 })).segments).toBe(0);
    expect(await seqs()).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    expect((await raw.listMessages(conversationId, { limit: 100, direction: "forward" })).map((m) => m.seq)).toEqual([21, 22, 23, 24, 25]);
  });

  it("removes what it wrote when the rows changed before its commit, and counts a conflict", async () => {
    const racing: HistoryRepository = new Proxy(repo, {
      get(target, prop) {
        if (prop !== "commitSegment") return Reflect.get(target, prop) as unknown;
        return async (entry: SegmentIndexEntry) => {
          // A retention change lands between the archiver's read and its commit.
          await raw.setRetention({ conversationId, actorUserId: "bob", retention: { mode: "disappearing", ttlSeconds: 300 }, now: 26_000 });
          await raw.deleteThrough(conversationId, 1, "disappearing");
          return target.commitSegment(entry);
        };
      },
    });
    expect(await archiveOldHistory(racing, blobs, { ...settings, now: 100_000, maxSegments: 10 })).toMatchObject({ segments: 0, conflicts: 1 });
    expect(await raw.segmentIndex(conversationId)).toEqual([]);
    expect(await seqs()).toEqual(Array.from({ length: 25 }, (_, i) => i + 2));
    expect(segmentFiles()).toEqual([]);
  });
});

describe("retention over archived history", () => {
  it("deletes a due prefix that is all archived, drops the segment below min_seq and rewrites the one it cuts, then deletes the old blobs", async () => {
    await archiveOldHistory(repo, blobs, { ...settings, now: 100_000, maxSegments: 10 });
    const [first, second] = await raw.segmentIndex(conversationId);
    await raw.setRetention({ conversationId, actorUserId: "bob", retention: { mode: "disappearing", ttlSeconds: 300 }, now: 26_000 });
    // Due: sent before 15.5 s + 300 s ago, i.e. seqs 1..15. The first live row (21) is not due: only the archive path sees them.
    // A pass bounded at 4 says more is due, until the 15 are gone.
    const passes = [];
    for (let more = true; more; ) {
      const pass = await retentionPass(repo, noDevices, 1)(315_500, 4);
      passes.push([pass.deleted, pass.more]);
      more = pass.more;
    }
    expect(passes).toEqual([[4, true], [4, true], [4, true], [3, false]]);
    expect(await raw.getConversation(conversationId)).toMatchObject({ minSeq: 16 });
    expect(await collectArchive(repo, blobs, { limit: 100 })).toEqual({ dropped: 1, rewritten: 1, blobsDeleted: 2 });
    const index = await raw.segmentIndex(conversationId);
    expect(index.map((e) => [e.fromSeq, e.toSeq, e.count])).toEqual([[16, 20, 5]]);
    expect(await blobs.stat(first!.key)).toBeUndefined();
    expect(await blobs.stat(second!.key)).toBeUndefined();
    expect(await blobs.stat(index[0]!.key)).toBeDefined();
    expect(segmentFiles()).toHaveLength(1);
    expect(await raw.archiveGarbage(10)).toEqual([]);
    expect(await seqs(15)).toEqual([16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26]);
    expect(await collectArchive(repo, blobs, { limit: 100 })).toEqual({ dropped: 0, rewritten: 0, blobsDeleted: 0 });
  });
});
