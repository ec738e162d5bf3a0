import { createHash, randomBytes } from "node:crypto";
import { PassThrough, Transform, type Readable } from "node:stream";
import type { BlobStore, SignedRequest } from "../blobs/blob-store.js";
import type { MediaRecord, MediaRepository, ReadyMedia } from "../storage/media-repository.js";
import { mediaError, MediaError } from "./media-error.js";
import type { MediaSettings } from "./media-settings.js";
import type { ConversationAccess, MediaProcessing } from "./ports.js";
import { checkUploadInput, imageMimeTypes } from "./upload-input.js";

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

/** Resolves with the stream's first `n` bytes (fewer at its end) and a stream of all its bytes. */
async function peek(stream: Readable, n: number): Promise<{ head: Uint8Array; all: Readable }> {
  const chunks: Buffer[] = [];
  let have = 0;
  const it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  while (have < n) {
    const next = await it.next();
    if (next.done) break;
    chunks.push(next.value);
    have += next.value.length;
  }
  const head = Buffer.concat(chunks);
  const all = new PassThrough();
  all.write(head);
  void (async () => {
    try {
      for (let next = await it.next(); !next.done; next = await it.next()) {
        if (!all.write(next.value)) await new Promise((resolve) => all.once("drain", resolve));
      }
      all.end();
    } catch (err) {
      all.destroy(err as Error);
    }
  })();
  return { head: head.subarray(0, n), all };
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

  const reject = (reason: string, err: MediaError): MediaError => {
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
      if (err instanceof MediaError) throw reject(err.reason === "resource-exhausted" ? "too_large" : "invalid", err);
      throw err;
    }
    if (!(await deps.access.isMember(input.conversationId, me))) throw mediaError("not-a-member", "only a member of the conversation may upload into it");
    const now = deps.now();
    const reserved = await repo.bytesReservedSince(me, now - dayMs);
    if (reserved + input.size > settings.dailyQuotaBytes) {
      throw reject("quota", mediaError("resource-exhausted", `daily upload quota of ${settings.dailyQuotaBytes} bytes reached (${reserved} used in the last 24 hours)`));
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
    throw reject(reason, mediaError("bad-upload", message));
  }

  async function storeImage(record: MediaRecord, bytes: Uint8Array): Promise<ReadyMedia> {
    const image = await deps.processing.processImage(bytes).catch(async (err: unknown) => {
      if (err instanceof MediaError && err.reason === "bad-upload") return badUpload(record, "bad_image", err.message);
      if (err instanceof MediaError) deps.events?.rejected("busy");
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

  async function complete(record: MediaRecord): Promise<MediaReference> {
    const info = await blobs.stat(uploadKey(record.id));
    if (!info) throw mediaError("failed-precondition", "nothing was uploaded for this media yet (or the upload was refused)");
    if (info.size !== record.declaredSize) {
      return badUpload(record, "size_mismatch", `uploaded ${info.size} bytes where ${record.declaredSize} were declared; upload again`);
    }
    const { head, all } = await peek(await blobs.read(uploadKey(record.id)), deps.processing.sniffBytes);
    const sniffed = await deps.processing.sniff(head);
    const hash = createHash("sha256");
    let ready: ReadyMedia;
    if (sniffed.kind === "image" && imageMimeTypes.has(sniffed.mimeType) && info.size <= settings.maxImageBytes) {
      const bytes = await readAll(all);
      hash.update(bytes);
      if (hash.digest("hex") !== record.sha256) return badUpload(record, "sha256_mismatch", "the uploaded bytes do not match the declared sha256; upload again");
      ready = await storeImage(record, bytes);
    } else {
      // Copied while hashed: what is stored is exactly what was checked, even if the client
      // PUTs to its upload URL again meanwhile.
      const mimeType = sniffed.executable || sniffed.kind === "image" ? genericType : sniffed.mimeType;
      const hashing = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          hash.update(chunk);
          done(null, chunk);
        },
      });
      all.on("error", (err) => hashing.destroy(err));
      await blobs.write(originalKey(record.id), all.pipe(hashing), info.size, mimeType);
      if (hash.digest("hex") !== record.sha256) return badUpload(record, "sha256_mismatch", "the uploaded bytes do not match the declared sha256; upload again");
      ready = { mimeType, size: info.size, width: 0, height: 0, preview: new Uint8Array(), originalKey: originalKey(record.id), completedAt: deps.now() };
    }
    await blobs.remove([uploadKey(record.id)]);
    if (!(await repo.markReady(record.id, ready))) {
      const now = await repo.get(record.id);
      if (now?.ready) return referenceOf(now, now.ready);
      throw mediaError("not-found", "no such media");
    }
    deps.events?.completed(ready.thumbnail ? "image" : "file", ready.size);
    return referenceOf(record, ready);
  }

  async function completeUpload(me: string, mediaId: string): Promise<MediaReference> {
    const record = mediaId ? await repo.get(mediaId) : undefined;
    if (!record || record.uploaderUserId !== me) throw mediaError("not-found", "no such media");
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
    if (!record || !ready || (record.uploaderUserId !== me && !(await deps.access.canSee(me, mediaId)))) throw mediaError("not-found", "no such media");
    if (variant === "thumbnail") {
      if (!ready.thumbnail) throw mediaError("not-found", "this media has no thumbnail");
      const request = await blobs.signGet(ready.thumbnail.key, { expiresInSeconds: settings.downloadUrlTtlSeconds, contentType: ready.thumbnail.mimeType });
      return { request, mimeType: ready.thumbnail.mimeType, size: ready.thumbnail.size };
    }
    const inline = imageMimeTypes.has(ready.mimeType) && ready.thumbnail !== undefined;
    const request = await blobs.signGet(ready.originalKey, {
      expiresInSeconds: settings.downloadUrlTtlSeconds,
      contentType: ready.mimeType,
      ...(inline ? {} : { attachmentName: record.fileName }),
    });
    return { request, mimeType: ready.mimeType, size: ready.size };
  }

  /** One answer per reference: what to store, or why not (a MediaError). */
  async function resolveMedia(items: readonly { mediaId: string; conversationId: string; senderUserId: string }[]): Promise<(MediaReference | MediaError)[]> {
    const now = deps.now();
    return Promise.all(
      items.map(async (item): Promise<MediaReference | MediaError> => {
        const record = item.mediaId ? await repo.get(item.mediaId) : undefined;
        if (!record || record.uploaderUserId !== item.senderUserId) return mediaError("not-found", "no such media: upload it first (CreateUpload, then CompleteUpload)");
        if (record.conversationId !== item.conversationId) return mediaError("failed-precondition", "this media was uploaded for another conversation");
        if (!record.ready) return mediaError("failed-precondition", "the upload is not complete: call CompleteUpload first");
        await repo.touch(record.id, now);
        return referenceOf(record, record.ready);
      }),
    );
  }

  return { createUpload, completeUpload, getDownloadUrl, resolveMedia };
}

export type MediaUseCases = ReturnType<typeof mediaUseCases>;
