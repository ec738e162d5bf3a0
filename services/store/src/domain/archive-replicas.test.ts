import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openLocalBlobStore, type BlobStore } from "@messenger/blobs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { withArchivedReads } from "../storage/archived-history-repository.js";
import type { HistoryRepository } from "../storage/history-repository.js";
import { openSqliteHistoryRepository } from "../storage/sqlite-history-repository.js";
import { archiveOldHistory, collectArchive } from "./archiver.js";
import { retentionPass } from "./retention.js";

// Two store replicas (or the store and `npm run archive`) running the same background pass
// over one history and one blob store at the same moment. Each pass's commits are
// conditional; these tests make the two meet at the commit, the worst interleaving.

let dir: string;
let raw: HistoryRepository;
let repo: HistoryRepository;
let blobs: BlobStore;
let conversationId: string;
const settings = { olderThanMs: 1, segmentMessages: 10 };
const noDevices = { devicesOf: async () => [] };

/** Message i (1-based) is sent at i seconds. */
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "messenger-archive-replicas-"));
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

/**
 * `repo` whose `method` holds its callers until two have arrived, then lets both go: each
 * pair of calls (one per replica, in step) meets, so both have decided before either commits.
 */
function meetingAt(target: HistoryRepository, method: "commitSegment" | "replaceSegment"): HistoryRepository {
  let waiting: (() => void)[] = [];
  return new Proxy(target, {
    get(t, prop) {
      if (prop !== method) return Reflect.get(t, prop) as unknown;
      return async (...args: unknown[]) => {
        await new Promise<void>((resolve) => {
          waiting.push(resolve);
          if (waiting.length === 2) {
            for (const w of waiting) w();
            waiting = [];
          }
        });
        return (Reflect.get(t, prop) as (...a: unknown[]) => Promise<unknown>).apply(t, args);
      };
    },
  });
}

const segmentFiles = (): string[] => {
  try {
    return readdirSync(join(dir, "archive"), { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".seg"));
  } catch {
    return [];
  }
};
const seqs = async (afterSeq = 0) => (await repo.listMessages(conversationId, { afterSeq, limit: 100, direction: "forward" })).map((m) => m.seq);

describe("background passes run by two replicas at once", () => {
  it("archiving: the segment is committed once and its blob stays, though the loser wrote the same key", async () => {
    const racing = meetingAt(repo, "commitSegment");
    // At 15.5 s only the first ten messages make a full segment old enough.
    const runs = await Promise.all([0, 1].map(() => archiveOldHistory(racing, blobs, { ...settings, now: 15_500, maxSegments: 10 })));
    expect(runs.map((r) => r.segments).sort()).toEqual([0, 1]);
    expect(runs.map((r) => r.conflicts).sort()).toEqual([0, 1]);
    const index = await raw.segmentIndex(conversationId);
    expect(index.map((e) => [e.fromSeq, e.toSeq])).toEqual([[1, 10]]);
    expect(await blobs.stat(index[0]!.key)).toBeDefined();
    expect(await seqs()).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    expect(segmentFiles()).toHaveLength(1);
  });

  it("collecting deleted archive: the rewritten segment is swapped in once and its blob stays; the old blobs go", async () => {
    await archiveOldHistory(repo, blobs, { ...settings, now: 100_000, maxSegments: 10 });
    await raw.setRetention({ conversationId, actorUserId: "bob", retention: { mode: "disappearing", ttlSeconds: 300 }, now: 26_000 });
    // Due at 315.5 s: seqs 1..15, all archived. Two retention passes at once delete them once.
    const passes = await Promise.all([0, 1].map(() => retentionPass(repo, noDevices, 1)(315_500, 100)));
    expect(passes.map((p) => p.deleted).sort()).toEqual([0, 15]);
    expect(await raw.getConversation(conversationId)).toMatchObject({ minSeq: 16 });

    const racing = meetingAt(repo, "replaceSegment");
    const collections = await Promise.all([0, 1].map(() => collectArchive(racing, blobs, { limit: 100 })));
    // Each segment below min_seq (one dropped, one cut to 16..20) is swapped by one of the two.
    expect(collections.reduce((n, c) => n + c.dropped + c.rewritten, 0)).toBe(2);
    const index = await raw.segmentIndex(conversationId);
    expect(index.map((e) => [e.fromSeq, e.toSeq, e.count])).toEqual([[16, 20, 5]]);
    expect(await blobs.stat(index[0]!.key)).toBeDefined();
    expect(await seqs(15)).toEqual([16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26]);
    expect(await raw.archiveGarbage(10)).toEqual([]);
    expect(segmentFiles()).toHaveLength(1);
  });
});
