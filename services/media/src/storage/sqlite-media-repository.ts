import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import type { MediaRecord, MediaRepository, ReadyMedia } from "./media-repository.js";

interface MediaRow {
  id: string;
  conversation_id: string;
  uploader_user_id: string;
  file_name: string;
  declared_mime_type: string;
  declared_size: number;
  sha256: string;
  created_at: number;
  upload_expires_at: number;
  mime_type: string | null;
  size: number | null;
  width: number | null;
  height: number | null;
  preview: Buffer | null;
  original_key: string | null;
  thumbnail_key: string | null;
  thumbnail_mime_type: string | null;
  thumbnail_size: number | null;
  completed_at: number | null;
  last_resolved_at: number | null;
}

function toRecord(r: MediaRow): MediaRecord {
  const base = {
    id: r.id,
    conversationId: r.conversation_id,
    uploaderUserId: r.uploader_user_id,
    fileName: r.file_name,
    declaredMimeType: r.declared_mime_type,
    declaredSize: r.declared_size,
    sha256: r.sha256,
    createdAt: r.created_at,
    uploadExpiresAt: r.upload_expires_at,
    ...(r.last_resolved_at !== null ? { lastResolvedAt: r.last_resolved_at } : {}),
  };
  if (r.completed_at === null) return base;
  const ready: ReadyMedia = {
    mimeType: r.mime_type ?? "application/octet-stream",
    size: r.size ?? 0,
    width: r.width ?? 0,
    height: r.height ?? 0,
    // A plain Uint8Array (not a Buffer), like every bytes field elsewhere.
    preview: r.preview ? new Uint8Array(r.preview) : new Uint8Array(),
    originalKey: r.original_key ?? "",
    ...(r.thumbnail_key ? { thumbnail: { key: r.thumbnail_key, mimeType: r.thumbnail_mime_type ?? "", size: r.thumbnail_size ?? 0 } } : {}),
    completedAt: r.completed_at,
  };
  return { ...base, ready };
}

/** The media records of the one-process system and of a single media replica: one SQLite file. */
export function openSqliteMediaRepository(path: string): MediaRepository {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.exec(`
CREATE TABLE IF NOT EXISTS media (
  id TEXT PRIMARY KEY,
  conversation_id TEXT NOT NULL,
  uploader_user_id TEXT NOT NULL,
  file_name TEXT NOT NULL,
  declared_mime_type TEXT NOT NULL,
  declared_size INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  upload_expires_at INTEGER NOT NULL,
  mime_type TEXT,
  size INTEGER,
  width INTEGER,
  height INTEGER,
  preview BLOB,
  original_key TEXT,
  thumbnail_key TEXT,
  thumbnail_mime_type TEXT,
  thumbnail_size INTEGER,
  completed_at INTEGER,
  last_resolved_at INTEGER
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS media_by_uploader ON media (uploader_user_id, created_at);
CREATE INDEX IF NOT EXISTS media_pending ON media (upload_expires_at) WHERE completed_at IS NULL;
`);
  const q = {
    insert: db.prepare(
      `INSERT INTO media (id, conversation_id, uploader_user_id, file_name, declared_mime_type, declared_size, sha256, created_at, upload_expires_at)
       VALUES (@id, @conversationId, @uploaderUserId, @fileName, @declaredMimeType, @declaredSize, @sha256, @createdAt, @uploadExpiresAt)`,
    ),
    get: db.prepare<[string], MediaRow>("SELECT * FROM media WHERE id = ?"),
    markReady: db.prepare(
      `UPDATE media SET mime_type = @mimeType, size = @size, width = @width, height = @height, preview = @preview, original_key = @originalKey,
         thumbnail_key = @thumbnailKey, thumbnail_mime_type = @thumbnailMimeType, thumbnail_size = @thumbnailSize, completed_at = @completedAt
       WHERE id = @id AND completed_at IS NULL`,
    ),
    // Never backwards (max() is NULL while the column is): an older mark arriving late must not shorten the cleanup's grace.
    touch: db.prepare("UPDATE media SET last_resolved_at = coalesce(max(last_resolved_at, @now), @now) WHERE id = @id"),
    reserved: db.prepare<[string, number], { total: number | null }>("SELECT sum(declared_size) AS total FROM media WHERE uploader_user_id = ? AND created_at >= ?"),
    abandoned: db.prepare<[number, number], MediaRow>("SELECT * FROM media WHERE completed_at IS NULL AND upload_expires_at < ? ORDER BY upload_expires_at LIMIT ?"),
    ready: db.prepare<[number, string, number], MediaRow>("SELECT * FROM media WHERE completed_at IS NOT NULL AND completed_at < ? AND id > ? ORDER BY id LIMIT ?"),
    delete: db.prepare("DELETE FROM media WHERE id = ?"),
  };
  const deleteAll = db.transaction((ids: readonly string[]) => {
    for (const id of ids) q.delete.run(id);
  });
  return {
    async insert(r) {
      q.insert.run({
        id: r.id,
        conversationId: r.conversationId,
        uploaderUserId: r.uploaderUserId,
        fileName: r.fileName,
        declaredMimeType: r.declaredMimeType,
        declaredSize: r.declaredSize,
        sha256: r.sha256,
        createdAt: r.createdAt,
        uploadExpiresAt: r.uploadExpiresAt,
      });
    },
    async get(id) {
      const row = q.get.get(id);
      return row ? toRecord(row) : undefined;
    },
    async markReady(id, ready) {
      const res = q.markReady.run({
        id,
        mimeType: ready.mimeType,
        size: ready.size,
        width: ready.width,
        height: ready.height,
        preview: Buffer.from(ready.preview),
        originalKey: ready.originalKey,
        thumbnailKey: ready.thumbnail?.key ?? null,
        thumbnailMimeType: ready.thumbnail?.mimeType ?? null,
        thumbnailSize: ready.thumbnail?.size ?? null,
        completedAt: ready.completedAt,
      });
      return res.changes === 1;
    },
    async touch(id, now) {
      q.touch.run({ now, id });
    },
    async bytesReservedSince(userId, since) {
      return q.reserved.get(userId, since)?.total ?? 0;
    },
    async abandonedUploads(before, limit) {
      return q.abandoned.all(before, limit).map(toRecord);
    },
    async readyMedia(before, afterId, limit) {
      return q.ready.all(before, afterId, limit).map(toRecord);
    },
    async delete(ids) {
      deleteAll(ids);
    },
    async close() {
      db.close();
    },
  };
}
