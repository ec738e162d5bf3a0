import { Binary } from "mongodb";
import type { MediaRecord, ReadyMedia } from "./media-repository.js";

/*
 * The documents of the MongoDB media adapter and their codecs (collection `media`, one
 * document per upload). Times are milliseconds and sizes bytes, as plain numbers: BSON keeps
 * them as int32 or double and the driver hands them back as numbers, exact below 2^53.
 */

/** What CompleteUpload found and made, as stored. */
export interface ReadyDoc {
  mimeType: string;
  size: number;
  width: number;
  height: number;
  preview: Binary;
  originalKey: string;
  thumbnail?: { key: string; mimeType: string; size: number };
  completedAt: number;
}

/**
 * One upload, keyed by its media id. `state` says whether `ready` is set; it exists so the
 * pending sweep's index can be partial (a partial index cannot select on a missing field).
 */
export interface MediaDoc {
  _id: string;
  conversationId: string;
  uploaderUserId: string;
  fileName: string;
  declaredMimeType: string;
  declaredSize: number;
  sha256: string;
  createdAt: number;
  uploadExpiresAt: number;
  state: "pending" | "ready";
  ready?: ReadyDoc;
  lastResolvedAt?: number;
}

/** The port's record from a stored document. */
export function toRecord(d: MediaDoc): MediaRecord {
  const base: MediaRecord = {
    id: d._id,
    conversationId: d.conversationId,
    uploaderUserId: d.uploaderUserId,
    fileName: d.fileName,
    declaredMimeType: d.declaredMimeType,
    declaredSize: d.declaredSize,
    sha256: d.sha256,
    createdAt: d.createdAt,
    uploadExpiresAt: d.uploadExpiresAt,
    ...(d.lastResolvedAt !== undefined ? { lastResolvedAt: d.lastResolvedAt } : {}),
  };
  if (d.state !== "ready" || !d.ready) return base;
  const r = d.ready;
  const ready: ReadyMedia = {
    mimeType: r.mimeType,
    size: r.size,
    width: r.width,
    height: r.height,
    // A copy: the driver's Binary may view a larger buffer.
    preview: new Uint8Array(r.preview.value()),
    originalKey: r.originalKey,
    ...(r.thumbnail ? { thumbnail: { key: r.thumbnail.key, mimeType: r.thumbnail.mimeType, size: r.thumbnail.size } } : {}),
    completedAt: r.completedAt,
  };
  return { ...base, ready };
}

/** The `ready` part CompleteUpload writes. */
export function toReadyDoc(r: ReadyMedia): ReadyDoc {
  return {
    mimeType: r.mimeType,
    size: r.size,
    width: r.width,
    height: r.height,
    preview: new Binary(r.preview),
    originalKey: r.originalKey,
    ...(r.thumbnail ? { thumbnail: { key: r.thumbnail.key, mimeType: r.thumbnail.mimeType, size: r.thumbnail.size } } : {}),
    completedAt: r.completedAt,
  };
}

/** A new upload's document: pending until CompleteUpload marks it ready. */
export function toPendingDoc(r: MediaRecord): MediaDoc {
  return {
    _id: r.id,
    conversationId: r.conversationId,
    uploaderUserId: r.uploaderUserId,
    fileName: r.fileName,
    declaredMimeType: r.declaredMimeType,
    declaredSize: r.declaredSize,
    sha256: r.sha256,
    createdAt: r.createdAt,
    uploadExpiresAt: r.uploadExpiresAt,
    state: "pending",
  };
}
