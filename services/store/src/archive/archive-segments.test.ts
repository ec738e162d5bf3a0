import { openLocalBlobStore, openS3BlobStore, type BlobStore } from "@messenger/blobs";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buffer } from "node:stream/consumers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HistoryRepository, MessageRange, MessageRecord } from "../storage/history-repository.js";
import { openSqliteHistoryRepository } from "../storage/sqlite-history-repository.js";
import { archiveSegment, pruneSegment, readSegment, segmentContentType } from "./archive-segments.js";
import { createArchivedReads } from "./archived-reads.js";
import { createSegmentCache } from "./segment-cache.js";
import { SegmentCorruptError, type SegmentCorruptReason } from "./segment-codec.js";
import type { SegmentIndexEntry } from "./segment-index.js";
import { messagesOfEveryKind, textMessage } from "./test-messages.js";

/** The slice of s3rver 3.7 used here; the package ships no type declarations. */
interface S3rverServer {
  run(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
}
type S3rverConstructor = new (options: { port: number; address: string; silent: boolean; directory: string }) => S3rverServer;

interface Subject {
  readonly blobs: BlobStore;
  dispose(): Promise<void>;
}

async function openLocal(): Promise<Subject> {
  const root = mkdtempSync(join(tmpdir(), "store-archive-local-"));
  const blobs = openLocalBlobStore({
    dir: root,
    secret: randomBytes(32),
    publicBaseUrl: () => {
      throw new Error("the archive never signs URLs");
    },
  });
  return {
    blobs,
    async dispose() {
      await blobs.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

async function openS3rver(): Promise<Subject> {
  const S3rver = createRequire(import.meta.url)("s3rver") as S3rverConstructor;
  const directory = mkdtempSync(join(tmpdir(), "store-archive-s3rver-"));
  const server = new S3rver({ port: 0, address: "127.0.0.1", silent: true, directory });
  const { port } = await server.run();
  const blobs = await openS3BlobStore({
    endPoint: "127.0.0.1",
    port,
    useSSL: false,
    accessKey: "S3RVER",
    secretKey: "S3RVER",
    region: "us-east-1",
    bucket: "store-archive",
  });
  return {
    blobs,
    async dispose() {
      await blobs.close();
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

async function expectCorrupt(promise: Promise<unknown>, reason: SegmentCorruptReason): Promise<SegmentCorruptError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SegmentCorruptError);
  expect((err as SegmentCorruptError).reason).toBe(reason);
  return err as SegmentCorruptError;
}

/** Every seq 1..n of a conversation but the ones listed, as retention would have left them. */
function history(conversationId: string, n: number, without: readonly number[] = []): MessageRecord[] {
  const gone = new Set(without);
  return Array.from({ length: n }, (_, i) => i + 1)
    .filter((seq) => !gone.has(seq))
    .map((seq) => textMessage(conversationId, seq));
}

describe.each([
  ["local folder", openLocal],
  ["S3 adapter on s3rver", openS3rver],
])("archive segments on the %s", (_name, open) => {
  let subject: Subject;
  let n = 0;
  /** A conversation id of its own per test, so tests share the store without sharing keys. */
  const nextConversation = (): string => `grp_t${++n}_${randomBytes(4).toString("hex")}`;
  const blobs = (): BlobStore => subject.blobs;

  beforeAll(async () => {
    subject = await open();
  });
  afterAll(async () => {
    await subject.dispose();
  });

  it("writes a segment, verified, and reads back the very messages", async () => {
    const conversationId = nextConversation();
    const messages = messagesOfEveryKind(conversationId, [2, 3, 5, 8]);
    const entry = await archiveSegment(blobs(), conversationId, messages);
    expect(entry).toMatchObject({ conversationId, fromSeq: 2, toSeq: 8, count: 4 });
    expect(entry.key).toMatch(new RegExp(`^archive/v1/${conversationId}/2-8-[0-9a-f]{16}\\.seg$`));
    expect(await blobs().stat(entry.key)).toEqual({ size: entry.bytes });
    expect(await readSegment(blobs(), entry)).toEqual(messages);
  });

  it("refuses a segment whose stored bytes changed, with the checksum error and no messages", async () => {
    const conversationId = nextConversation();
    const entry = await archiveSegment(blobs(), conversationId, history(conversationId, 20));
    const bytes = await buffer(await blobs().read(entry.key));
    bytes[7] = (bytes[7] ?? 0) ^ 0xff;
    await blobs().write(entry.key, bytes, bytes.length, segmentContentType);
    const err = await expectCorrupt(readSegment(blobs(), entry), "checksum");
    expect(err.message).toContain(entry.key);
    expect(err.message).toContain("seqs 1..20");
  });

  it("refuses a segment of another length than its index entry", async () => {
    const conversationId = nextConversation();
    const entry = await archiveSegment(blobs(), conversationId, history(conversationId, 5));
    const bytes = await buffer(await blobs().read(entry.key));
    await expectCorrupt(readSegment(blobs(), { ...entry, bytes: entry.bytes + 1 }), "size");
    await blobs().write(entry.key, Buffer.concat([bytes, Buffer.from([0])]), bytes.length + 1, segmentContentType);
    await expectCorrupt(readSegment(blobs(), entry), "size");
  });

  it("reports a segment the store does not have as missing", async () => {
    const conversationId = nextConversation();
    const entry = await archiveSegment(blobs(), conversationId, history(conversationId, 3));
    await blobs().remove([entry.key]);
    const err = await expectCorrupt(readSegment(blobs(), entry), "missing");
    expect(err.message).toContain(entry.key);
  });

  it("removes what it wrote and throws when the bytes do not read back", async () => {
    const conversationId = nextConversation();
    let written = "";
    // A store that damages what it stores: the verification must catch it.
    const damaging: BlobStore = {
      ...blobs(),
      write: (key, body, size, type) => {
        written = key;
        const bytes = Uint8Array.from(body as Uint8Array);
        bytes[0] = (bytes[0] ?? 0) ^ 0x01;
        return blobs().write(key, bytes, size, type);
      },
    };
    await expectCorrupt(archiveSegment(damaging, conversationId, history(conversationId, 10)), "checksum");
    expect(written).not.toBe("");
    expect(await blobs().stat(written)).toBeUndefined();
  });

  it("gives a rewrite of a range a new key and leaves the old segment readable", async () => {
    const conversationId = nextConversation();
    const old = await archiveSegment(blobs(), conversationId, history(conversationId, 10));
    const again = await archiveSegment(blobs(), conversationId, history(conversationId, 10));
    expect(again.key).toBe(old.key);
    const pruned = await pruneSegment(blobs(), old, (m) => m.seq % 2 === 0 || m.seq > 5);
    expect(pruned.outcome).toBe("rewritten");
    if (pruned.outcome !== "rewritten") return;
    expect(pruned.deleted).toBe(3);
    expect(pruned.entry.key).not.toBe(old.key);
    expect(pruned.entry).toMatchObject({ fromSeq: 2, toSeq: 10, count: 7 });
    expect((await readSegment(blobs(), pruned.entry)).map((m) => m.seq)).toEqual([2, 4, 6, 7, 8, 9, 10]);
    expect(await readSegment(blobs(), old)).toHaveLength(10);
  });

  it("prunes to nothing or leaves a segment alone without writing", async () => {
    const conversationId = nextConversation();
    const entry = await archiveSegment(blobs(), conversationId, history(conversationId, 4));
    expect(await pruneSegment(blobs(), entry, () => true)).toEqual({ outcome: "unchanged" });
    expect(await pruneSegment(blobs(), entry, () => false)).toEqual({ outcome: "emptied", deleted: 4 });
  });

  it("serves identical pages before and after archiving, and after a retention deletion reaches the archive", async () => {
    const conversationId = nextConversation();
    const all = history(conversationId, 95, [1, 2, 3, 40, 41]);
    let live = [...all];
    let index: SegmentIndexEntry[] = [];
    const reads = createArchivedReads({
      index: () => Promise.resolve(index),
      segment: (entry) => cache.messages(entry),
      live: (_id, range) => Promise.resolve(page(live, range)),
      liveAt: (_id, seqs) => Promise.resolve(live.filter((m) => seqs.includes(m.seq))),
    });
    const cache = createSegmentCache((entry) => readSegment(blobs(), entry), { maxMessages: 50 });
    const ranges: MessageRange[] = [];
    for (const direction of ["forward", "backward"] as const) {
      for (const limit of [1, 7, 30, 200]) {
        for (const [afterSeq, beforeSeq] of [[undefined, undefined], [0, 96], [10, 60], [35, 45], [59, undefined], [undefined, 21]] as const) {
          ranges.push({ limit, direction, ...(afterSeq === undefined ? {} : { afterSeq }), ...(beforeSeq === undefined ? {} : { beforeSeq }) });
        }
      }
    }
    const lookups = [1, 4, 5, 23, 24, 29, 30, 40, 42, 60, 61, 95, 96];
    const served = async (): Promise<MessageRecord[][]> => {
      const pages = await Promise.all(ranges.map((range) => reads.listMessages(conversationId, range)));
      return [...pages, await reads.messagesAt(conversationId, lookups)];
    };
    const modelOf = (rows: readonly MessageRecord[]): MessageRecord[][] => [
      ...ranges.map((range) => page(rows, range)),
      rows.filter((m) => lookups.includes(m.seq)),
    ];

    const before = await served();
    expect(before).toEqual(modelOf(all));
    // Archive the oldest rows in segments of 20, each committed with the deletion of its rows.
    while (live.length > 15) {
      const entry = await archiveSegment(blobs(), conversationId, live.slice(0, 20));
      index = [...index, entry];
      live = live.slice(20);
    }
    expect(index.map((e) => [e.fromSeq, e.toSeq])).toEqual([[4, 23], [24, 45], [46, 65], [66, 85]]);
    expect(await served()).toEqual(before);

    // Retention deletes everything below seq 30: the first segment goes, the second is rewritten
    // (index swapped first, old blobs removed after).
    const survives = (m: MessageRecord): boolean => m.seq >= 30;
    const next: SegmentIndexEntry[] = [];
    const replaced: string[] = [];
    for (const entry of index) {
      const pruned = await pruneSegment(blobs(), entry, survives);
      if (pruned.outcome === "unchanged") next.push(entry);
      else replaced.push(entry.key);
      if (pruned.outcome === "rewritten") next.push(pruned.entry);
    }
    expect(replaced).toHaveLength(2);
    index = next;
    await blobs().remove(replaced);
    expect(await served()).toEqual(modelOf(all.filter(survives)));
  });
});

/** HistoryRepository.listMessages over an ascending array. */
function page(rows: readonly MessageRecord[], range: MessageRange): MessageRecord[] {
  const inWindow = rows.filter((m) => m.seq > (range.afterSeq ?? 0) && m.seq < (range.beforeSeq ?? Number.POSITIVE_INFINITY));
  return range.direction === "forward" ? inWindow.slice(0, range.limit) : inWindow.slice(Math.max(0, inWindow.length - range.limit));
}

describe("readSegment", () => {
  it("passes on a failure to reach the store as it is, not as a corrupt segment", async () => {
    const unreachable = new Error("connect ECONNREFUSED 127.0.0.1:9000");
    const down: BlobStore = {
      signPut: () => Promise.reject(unreachable),
      signGet: () => Promise.reject(unreachable),
      stat: () => Promise.reject(unreachable),
      read: () => Promise.reject(unreachable),
      write: () => Promise.reject(unreachable),
      remove: () => Promise.reject(unreachable),
      close: () => Promise.resolve(),
    };
    const entry: SegmentIndexEntry = { conversationId: "grp_x", fromSeq: 1, toSeq: 1, key: "archive/v1/grp_x/1-1-0.seg", sha256: "0".repeat(64), count: 1, bytes: 1, firstSentAt: 0, lastSentAt: 0 };
    await expect(readSegment(down, entry)).rejects.toBe(unreachable);
  });
});

describe("a segment that does not read back, with a SQLite segment index", () => {
  let root: string;
  let repo: HistoryRepository;
  let blobs: BlobStore;
  let conversationId: string;
  let rows: MessageRecord[];

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), "store-archive-index-"));
    repo = openSqliteHistoryRepository(join(root, "history.db"));
    blobs = openLocalBlobStore({ dir: join(root, "archive"), secret: randomBytes(32), publicBaseUrl: () => "" });
  });
  afterAll(async () => {
    await repo.close();
    await blobs.close();
    rmSync(root, { recursive: true, force: true });
  });

  let n = 0;
  const openConversation = async (): Promise<void> => {
    conversationId = (await repo.openDirect("alice", `bob${++n}`, 0, false)).id;
    for (let i = 1; i <= 10; i++) {
      await repo.append([{ conversationId, senderUserId: "alice", senderDeviceId: "phone", clientMessageId: `m${i}`, body: { kind: "text", text: `m${i}` }, replyToSeq: 0, clientSentAt: undefined, now: i * 1000 }]);
    }
    rows = await repo.listMessages(conversationId, { afterSeq: 0, limit: 10, direction: "forward" });
  };

  /** The store, but its next read fails as a dropped connection would: the bytes are fine, the read-back is not. */
  const readFailingOnce = (): BlobStore => {
    let failed = false;
    return {
      ...blobs,
      read: (key) => {
        if (failed) return blobs.read(key);
        failed = true;
        return Promise.reject(new Error("read ECONNRESET"));
      },
    };
  };

  it("keeps the blob another archiver committed under the same key", async () => {
    await openConversation();
    // Both archivers read the same rows, so both write the same bytes under the same key.
    const committed = await archiveSegment(blobs, conversationId, rows, repo);
    await repo.commitSegment(committed);
    await expect(archiveSegment(readFailingOnce(), conversationId, rows, repo)).rejects.toThrow("ECONNRESET");
    expect(await blobs.stat(committed.key)).toEqual({ size: committed.bytes });
    expect((await readSegment(blobs, committed)).map((m) => m.seq)).toEqual(rows.map((m) => m.seq));
  });

  it("removes its blob when no index entry names it", async () => {
    await openConversation();
    let written = "";
    const failing = readFailingOnce();
    const recording: BlobStore = {
      ...failing,
      write: (key, body, size, type) => {
        written = key;
        return blobs.write(key, body, size, type);
      },
    };
    await expect(archiveSegment(recording, conversationId, rows, repo)).rejects.toThrow("ECONNRESET");
    expect(written).not.toBe("");
    expect(await blobs.stat(written)).toBeUndefined();
    expect(await repo.segmentIndex(conversationId)).toEqual([]);
  });
});
