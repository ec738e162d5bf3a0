import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openLocalBlobStore, type BlobStore } from "@messenger/blobs";
import type { DomainErrorKind } from "@messenger/rpc/domain-error";
import sharp from "sharp";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sharpProcessing } from "../adapters/sharp-processing.js";
import type { MediaRepository } from "../storage/media-repository.js";
import { openSqliteMediaRepository } from "../storage/sqlite-media-repository.js";
import { DomainError } from "./media-error.js";
import { defaultMediaSettings } from "./media-settings.js";
import { mediaUseCases, originalKey, uploadKey, type MediaEvents, type MediaReference, type MediaUseCases } from "./media-use-cases.js";
import type { ConversationAccess } from "./ports.js";

/*
 * CompleteUpload on two media replicas over one records file and one blob folder (real
 * SQLite, real files, real image processing), with the blob store of each replica stepped:
 * a replica stops at a chosen call until the test lets it go, so the interleavings that
 * replicas meet under load are forced, not hoped for.
 */

/** A place in a replica's run where it stops until released. */
class Gate {
  private arrive!: () => void;
  private go!: () => void;
  /** Settles once the replica stands at the gate. */
  readonly reached = new Promise<void>((resolve) => (this.arrive = resolve));
  private readonly released = new Promise<void>((resolve) => (this.go = resolve));

  /** Called by the replica: stops it here. */
  stop(): Promise<void> {
    this.arrive();
    return this.released;
  }

  release(): void {
    this.go();
  }
}

/** Where a stepped blob store stops its replica, per upload key. */
interface BlobSteps {
  /** Before the upload blob's stat runs. */
  beforeStat?: Gate;
  /** Before the removal of the upload blob (on its own or with others) runs. */
  beforeUploadRemoval?: Gate;
  /** After the removal of the upload blob returned. */
  afterUploadRemoval?: Gate;
}

/** The blob store, stopping at `steps` for calls on `key`; everything else goes straight through. */
function steppedBlobs(inner: BlobStore, key: string, steps: BlobSteps): BlobStore {
  return {
    signPut: (k, grant) => inner.signPut(k, grant),
    signGet: (k, grant) => inner.signGet(k, grant),
    read: (k) => inner.read(k),
    write: (k, body, size, contentType) => inner.write(k, body, size, contentType),
    close: () => inner.close(),
    async stat(k) {
      if (k === key) await steps.beforeStat?.stop();
      return inner.stat(k);
    },
    async remove(keys) {
      const upload = keys.includes(key);
      if (upload) await steps.beforeUploadRemoval?.stop();
      await inner.remove(keys);
      if (upload) await steps.afterUploadRemoval?.stop();
    },
  };
}

/** Counts what the replicas report as completed. */
function countingEvents(completed: string[]): MediaEvents {
  return {
    uploadCreated: () => {},
    completed: (kind) => completed.push(kind),
    imageProcessed: () => {},
    rejected: () => {},
  };
}

/** Every user is a member: membership is the store's, and not what these tests are about. */
const everyoneMember: ConversationAccess = {
  isMember: async () => true,
  canSee: async () => true,
  referenced: async (ids) => new Set(ids),
};

/** A replica's answer: the reference, or the kind of its refusal. */
async function outcome(p: Promise<MediaReference>): Promise<{ reference?: MediaReference; refused?: DomainErrorKind }> {
  try {
    return { reference: await p };
  } catch (err) {
    if (!(err instanceof DomainError)) throw err;
    return { refused: err.kind };
  }
}

let dir: string;
let opened: { close(): Promise<void> }[];
let completed: string[];
let bytes: Uint8Array;
/** The id of an upload alice reserved and PUT (replica a's records). */
let mediaId: string;

/** One more media replica over the shared records and blobs, its blob store stepped for `mediaId`'s upload. */
async function replica(steps: BlobSteps = {}): Promise<{ media: MediaUseCases; repo: MediaRepository; blobs: BlobStore }> {
  const repo = openSqliteMediaRepository(join(dir, "media.db"));
  const blobs = openLocalBlobStore({ dir: join(dir, "blobs"), secret: randomBytes(32), publicBaseUrl: () => "http://127.0.0.1:1" });
  opened.push(repo, blobs);
  const media = mediaUseCases({
    repo,
    blobs: steppedBlobs(blobs, uploadKey(mediaId), steps),
    access: everyoneMember,
    processing: sharpProcessing({ concurrency: 2, maxQueued: 8 }, defaultMediaSettings),
    settings: defaultMediaSettings,
    now: Date.now,
    events: countingEvents(completed),
  });
  return { media, repo, blobs };
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "messenger-complete-upload-"));
  opened = [];
  completed = [];
  bytes = await sharp({ create: { width: 40, height: 30, channels: 3, background: { r: 200, g: 30, b: 90 } } }).png().toBuffer();
  mediaId = "";
  const { media, blobs } = await replica();
  ({ mediaId } = await media.createUpload("alice", {
    conversationId: "dm_alice_bob",
    fileName: "red.png",
    mimeType: "image/png",
    sizeBytes: BigInt(bytes.length),
    sha256: createHash("sha256").update(bytes).digest(),
  }));
  // What the client's PUT to its upload URL leaves in the store.
  await blobs.write(uploadKey(mediaId), bytes, bytes.length, "image/png");
});

afterEach(async () => {
  for (const o of opened) await o.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("CompleteUpload on two replicas at once", () => {
  it.each([
    ["after the winner removed the upload blob", "afterUploadRemoval"],
    ["before the winner removes the upload blob", "beforeUploadRemoval"],
  ] as const)("gives the late replica the winner's reference when it looks for the upload %s, and counts one completion", async (_, where) => {
    const lateAt = new Gate();
    const winnerAt = new Gate();
    const late = await replica({ beforeStat: lateAt });
    const winner = await replica({ [where]: winnerAt });
    // The late replica read the record while it was pending, then stops before looking for the upload.
    const lateAnswer = outcome(late.media.completeUpload("alice", mediaId));
    await lateAt.reached;
    const winnerAnswer = outcome(winner.media.completeUpload("alice", mediaId));
    await winnerAt.reached;
    lateAt.release();
    // The late replica answers while the winner still stands at its gate.
    const lateResult = await lateAnswer;
    winnerAt.release();
    const winnerResult = await winnerAnswer;

    expect(winnerResult.refused).toBeUndefined();
    expect(lateResult).toEqual(winnerResult);
    expect(winnerResult.reference).toMatchObject({ mediaId, mimeType: "image/png", width: 40, height: 30, fileName: "red.png" });
    expect(completed).toEqual(["image"]);
    const record = await winner.repo.get(mediaId);
    expect(record?.ready?.size).toBe(winnerResult.reference?.size);
    // What the record names is there; the upload is not.
    expect(await winner.blobs.stat(originalKey(mediaId))).toEqual({ size: record?.ready?.size });
    expect(await winner.blobs.stat(uploadKey(mediaId))).toBeUndefined();
  });
});

describe("CompleteUpload without an upload", () => {
  it("refuses with FAILED_PRECONDITION while nothing was uploaded, records nothing, and completes once the bytes are there", async () => {
    const { media, repo, blobs } = await replica();
    await blobs.remove([uploadKey(mediaId)]);
    expect(await outcome(media.completeUpload("alice", mediaId))).toEqual({ refused: "failed_precondition" });
    expect((await repo.get(mediaId))?.ready).toBeUndefined();
    expect(completed).toEqual([]);
    await blobs.write(uploadKey(mediaId), bytes, bytes.length, "image/png");
    expect((await outcome(media.completeUpload("alice", mediaId))).reference).toMatchObject({ mediaId, width: 40 });
  });

  it("answers NOT_FOUND when the cleanup took the record after the replica read it", async () => {
    const at = new Gate();
    const { media, repo, blobs } = await replica({ beforeStat: at });
    await blobs.remove([uploadKey(mediaId)]);
    const answer = outcome(media.completeUpload("alice", mediaId));
    await at.reached;
    await repo.delete([mediaId]);
    at.release();
    expect(await answer).toEqual({ refused: "not_found" });
  });
});
