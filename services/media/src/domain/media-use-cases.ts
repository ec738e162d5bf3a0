import { createHash, randomBytes, type Hash } from "node:crypto";
import { Readable } from "node:stream";
import type { BlobStore, SignedRequest } from "@messenger/blobs";
import type { MediaRecord, MediaRepository, ReadyMedia } from "../storage/media-repository.js";
import { DomainError, mediaError } from "./media-error.js";
import type { MediaSettings } from "./media-settings.js";
import type { ConversationAccess, MediaProcessing } from "./ports.js";
import { checkUploadInput } from "./upload-input.js";

/** What a message carries about a media (the MediaRef's fields). */
export interface MediaReference {
  readonly mediaId: string;
  readonly mimeType: string;
  readonly size: number;
  readonly width: number;
  readonly height: number;
  readonly preview: Uint8Array;
  readonly fileName: string;
}

/** What the use cases count (a metrics adapter implements it). */
export interface MediaEvents {
  uploadCreated(size: number): void;
  completed(kind: "image" | "file", size: number): void;
  imageProcessed(seconds: number): void;
  rejected(reason: string): void;
}

export interface MediaUseCaseDeps {
  readonly repo: MediaRepository;
  readonly blobs: BlobStore;
  readonly access: ConversationAccess;
  readonly processing: MediaProcessing;
  readonly settings: MediaSettings;
  readonly now: () => number;
  readonly events?: MediaEvents;
}

export const uploadKey = (id: string): string => `uploads/${id}`;
export const originalKey = (id: string): string => `media/${id}/original`;
export const thumbnailKey = (id: string): string => `media/${id}/thumbnail`;

const dayMs = 24 * 60 * 60_000;
const genericType = "application/octet-stream";

function referenceOf(record: MediaRecord, ready: ReadyMedia): MediaReference {
  return { mediaId: record.id, mimeType: ready.mimeType, size: ready.size, width: ready.width, height: ready.height, preview: ready.preview, fileName: record.fileName };
}

/** Reads a stream whole (an image is at most MEDIA_MAX_IMAGE_BYTES). */
async function readAll(stream: Readable): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * The stream's first `n` bytes (fewer at its end), and a stream of all its bytes that feeds
 * `hash` as they pass. Built on a generator, so a reader that stops early (a failed write)
 * ends the source with it, and so does `all.destroy()` when nobody reads it.
 */
async function peek(stream: Readable, n: number, hash: Hash): Promise<{ head: Uint8Array; all: Readable }> {
  const it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const chunks: Buffer[] = [];
  let have = 0;
  try {
    while (have < n) {
      const next = await it.next();
      if (next.done) break;
      chunks.push(next.value);
      have += next.value.length;
    }
  } catch (err) {
    stream.destroy();
    throw err;
  }
  const head = Buffer.concat(chunks);
  async function* all(): AsyncGenerator<Buffer> {
    try {
      hash.update(head);
      yield head;
      for (let next = await it.next(); !next.done; next = await it.next()) {
        hash.update(next.value);
        yield next.value;
      }
    } finally {
      stream.destroy();
    }
  }
  return { head: head.subarray(0, n), all: Readable.from(all(), { objectMode: false }) };
}

/**
 * The media rules: who may upload where, what an upload must be, who may download, and
 * which references a send may carry. Bytes move between clients and the blob store; this
 * code reads them only to check and process them at completion.
 */
export function mediaUseCases(deps: MediaUseCaseDeps) {
  const { repo, blobs, settings } = deps;
  // One completion per media at a time in this process: a client's retry while the first
  // call still processes waits for it instead of reading an upload being replaced.
  const completing = new Map<string, Promise<MediaReference>>();

  const reject = (reason: string, err: DomainError): DomainError => {
    deps.events?.rejected(reason);
    return err;
  };

  async function createUpload(
    me: string,
    req: { conversationId: string; fileName: string; mimeType: string; sizeBytes: bigint; sha256: Uint8Array },
  ): Promise<{ mediaId: string; upload: SignedRequest }> {
    let input;
    try {
      input = checkUploadInput(req, settings);
    } catch (err) {
      if (err instanceof DomainError) throw reject(err.kind === "resource_exhausted" ? "too_large" : "invalid", err);
      throw err;
    }
    if (!(await deps.access.isMember(input.conversationId, me))) throw mediaError("permission_denied", "only a member of the conversation may upload into it");
    const now = deps.now();
    const reserved = await repo.bytesReservedSince(me, now - dayMs);
    if (reserved + input.size > settings.dailyQuotaBytes) {
      throw reject("quota", mediaError("resource_exhausted", `daily upload quota of ${settings.dailyQuotaBytes} bytes reached (${reserved} used in the last 24 hours)`));
    }
    const mediaId = `m_${randomBytes(16).toString("hex")}`;
    const upload = await blobs.signPut(uploadKey(mediaId), { size: input.size, contentType: input.mimeType, expiresInSeconds: settings.uploadUrlTtlSeconds });
    await repo.insert({
      id: mediaId,
      conversationId: input.conversationId,
      uploaderUserId: me,
      fileName: input.fileName,
      declaredMimeType: input.mimeType,
      declaredSize: input.size,
      sha256: input.sha256,
      createdAt: now,
      uploadExpiresAt: upload.expiresAt,
    });
    deps.events?.uploadCreated(input.size);
    return { mediaId, upload };
  }

  /** The upload's bytes checked against the declaration; throws bad-upload (and deletes them) when they differ. */
  async function badUpload(record: MediaRecord, reason: string, message: string): Promise<never> {
    await blobs.remove([uploadKey(record.id), originalKey(record.id), thumbnailKey(record.id)]);
    throw reject(reason, mediaError("invalid_argument", message));
  }

  async function storeImage(record: MediaRecord, bytes: Uint8Array): Promise<ReadyMedia> {
    const image = await deps.processing.processImage(bytes).catch(async (err: unknown) => {
      if (err instanceof DomainError && err.kind === "invalid_argument") return badUpload(record, "bad_image", err.message);
      if (err instanceof DomainError && err.kind === "resource_exhausted") deps.events?.rejected("busy");
      throw err;
    });
    deps.events?.imageProcessed(image.processingSeconds);
    await blobs.write(originalKey(record.id), image.original.bytes, image.original.bytes.length, image.original.mimeType);
    await blobs.write(thumbnailKey(record.id), image.thumbnail.bytes, image.thumbnail.bytes.length, image.thumbnail.mimeType);
    return {
      mimeType: image.original.mimeType,
      size: image.original.bytes.length,
      width: image.original.width,
      height: image.original.height,
      preview: image.preview.bytes,
      originalKey: originalKey(record.id),
      thumbnail: { key: thumbnailKey(record.id), mimeType: image.thumbnail.mimeType, size: image.thumbnail.bytes.length },
      completedAt: deps.now(),
    };
  }

  /**
   * The answer when the upload blob is missing. Another replica that completed this upload
   * removed it, and it removes it only after recording the completion, so a record read now
   * is ready in that case: the answer is the winner's. Still pending, nothing was uploaded (or
   * the upload was refused and deleted).
   */
  async function withoutUpload(record: MediaRecord): Promise<MediaReference> {
    const current = await repo.get(record.id);
    if (current?.ready) return referenceOf(current, current.ready);
    if (!current) throw mediaError("not_found", "no such media");
    throw mediaError("failed_precondition", "nothing was uploaded for this media yet (or the upload was refused)");
  }

  async function complete(record: MediaRecord): Promise<MediaReference> {
    const info = await blobs.stat(uploadKey(record.id));
    if (!info) return withoutUpload(record);
    if (info.size !== record.declaredSize) {
      return badUpload(record, "size_mismatch", `uploaded ${info.size} bytes where ${record.declaredSize} were declared; upload again`);
    }
    const hash = createHash("sha256");
    const { head, all } = await peek(await blobs.read(uploadKey(record.id)), deps.processing.sniffBytes, hash);
    let ready: ReadyMedia;
    try {
      const sniffed = await deps.processing.sniff(head);
      if (sniffed.kind === "image" && info.size <= settings.maxImageBytes) {
        const bytes = await readAll(all);
        if (hash.digest("hex") !== record.sha256) return await badUpload(record, "sha256_mismatch", "the uploaded bytes do not match the declared sha256; upload again");
        ready = await storeImage(record, bytes);
      } else {
        // Copied while hashed: what is stored is exactly what was checked, even if the client
        // PUTs to its upload URL again meanwhile. An image too large to process is a plain file.
        const mimeType = sniffed.executable || sniffed.kind === "image" ? genericType : sniffed.mimeType;
        await blobs.write(originalKey(record.id), all, info.size, mimeType);
        if (hash.digest("hex") !== record.sha256) return await badUpload(record, "sha256_mismatch", "the uploaded bytes do not match the declared sha256; upload again");
        ready = { mimeType, size: info.size, width: 0, height: 0, preview: new Uint8Array(), originalKey: originalKey(record.id), completedAt: deps.now() };
      }
    } finally {
      all.destroy();
    }
    if (!(await repo.markReady(record.id, ready))) {
      const now = await repo.get(record.id);
      if (now?.ready) return referenceOf(now, now.ready);
      // The cleanup took the record meanwhile: what this completion wrote must go too.
      await blobs.remove([uploadKey(record.id), originalKey(record.id), thumbnailKey(record.id)]);
      throw mediaError("not_found", "no such media");
    }
    // Only once the completion is recorded: a replica that then finds the upload gone reads
    // it ready (withoutUpload). Should this removal fail, a retry answers from the ready
    // record, and the blob stays until the cleanup deletes the record with its keys.
    await blobs.remove([uploadKey(record.id)]);
    deps.events?.completed(ready.thumbnail ? "image" : "file", ready.size);
    return referenceOf(record, ready);
  }

  async function completeUpload(me: string, mediaId: string): Promise<MediaReference> {
    const record = mediaId ? await repo.get(mediaId) : undefined;
    if (!record || record.uploaderUserId !== me) throw mediaError("not_found", "no such media");
    if (record.ready) return referenceOf(record, record.ready);
    const running = completing.get(mediaId);
    if (running) return running;
    const work = complete(record).finally(() => completing.delete(mediaId));
    completing.set(mediaId, work);
    return work;
  }

  async function getDownloadUrl(
    me: string,
    mediaId: string,
    variant: "original" | "thumbnail",
  ): Promise<{ request: SignedRequest; mimeType: string; size: number }> {
    const record = mediaId ? await repo.get(mediaId) : undefined;
    const ready = record?.ready;
    // The uploader, or a member who may see a message that shares it; a guessed id, a
    // stranger and a member from before or after those messages all get the same answer.
    if (!record || !ready || (record.uploaderUserId !== me && !(await deps.access.canSee(me, mediaId)))) throw mediaError("not_found", "no such media");
    if (variant === "thumbnail") {
      if (!ready.thumbnail) throw mediaError("not_found", "this media has no thumbnail");
      const request = await blobs.signGet(ready.thumbnail.key, { expiresInSeconds: settings.downloadUrlTtlSeconds, contentType: ready.thumbnail.mimeType });
      return { request, mimeType: ready.thumbnail.mimeType, size: ready.thumbnail.size };
    }
    // Only a processed image has a thumbnail; it alone is served to be shown, the rest as attachments.
    const inline = ready.thumbnail !== undefined;
    const request = await blobs.signGet(ready.originalKey, {
      expiresInSeconds: settings.downloadUrlTtlSeconds,
      contentType: ready.mimeType,
      ...(inline ? {} : { attachmentName: record.fileName }),
    });
    return { request, mimeType: ready.mimeType, size: ready.size };
  }

  /** One answer per reference: what to store, or why not (a DomainError). */
  async function resolveMedia(items: readonly { mediaId: string; conversationId: string; senderUserId: string }[]): Promise<(MediaReference | DomainError)[]> {
    const now = deps.now();
    return Promise.all(
      items.map(async (item): Promise<MediaReference | DomainError> => {
        const record = item.mediaId ? await repo.get(item.mediaId) : undefined;
        if (!record || record.uploaderUserId !== item.senderUserId) return mediaError("not_found", "no such media: upload it first (CreateUpload, then CompleteUpload)");
        if (record.conversationId !== item.conversationId) return mediaError("failed_precondition", "this media was uploaded for another conversation");
        if (!record.ready) return mediaError("failed_precondition", "the upload is not complete: call CompleteUpload first");
        await repo.touch(record.id, now);
        return referenceOf(record, record.ready);
      }),
    );
  }

  return { createUpload, completeUpload, getDownloadUrl, resolveMedia };
}

export type MediaUseCases = ReturnType<typeof mediaUseCases>;
