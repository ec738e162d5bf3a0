import { minioEnv } from "@messenger/blobs";
import { positiveInt, z } from "@messenger/config";
import { defaultMediaSettings, type MediaSettings } from "./domain/media-settings.js";

const nonNegativeInt = (fallback: number) => z.coerce.number().int().min(0).default(fallback);

/**
 * The media service's environment, read by the service alone and by the one-process system;
 * documented in the README's configuration. The blob store is MinIO / S3 when MINIO_ENDPOINT
 * is set, else a folder under DATA_DIR served by the media service's HTTP port; the records
 * are in MongoDB when MONGODB_URI is set, else in DATA_DIR/media.db.
 */
export const mediaEnv = {
  ...minioEnv,
  /** Media records in MongoDB (the store's deployment: same URI, collection `media`) instead of DATA_DIR/media.db; see docs/mongodb.md. */
  MONGODB_URI: z.string().min(1).optional(),
  /** The base of the local folder's signed URLs as clients reach this HTTP port (default http://HOST:HTTP_PORT). */
  MEDIA_PUBLIC_URL: z.string().url().optional(),
  /** The key of the local folder's URL signatures (base64, ≥ 32 bytes); default: generated once into DATA_DIR/keys. */
  MEDIA_URL_SECRET: z.string().min(44).optional(),
  MEDIA_MAX_IMAGE_BYTES: positiveInt(defaultMediaSettings.maxImageBytes),
  MEDIA_MAX_FILE_BYTES: positiveInt(defaultMediaSettings.maxFileBytes),
  MEDIA_DAILY_QUOTA_BYTES: positiveInt(defaultMediaSettings.dailyQuotaBytes),
  MEDIA_UPLOAD_URL_TTL_SECONDS: positiveInt(defaultMediaSettings.uploadUrlTtlSeconds),
  MEDIA_DOWNLOAD_URL_TTL_SECONDS: positiveInt(defaultMediaSettings.downloadUrlTtlSeconds),
  MEDIA_ABANDONED_AFTER_MS: nonNegativeInt(defaultMediaSettings.abandonedAfterMs),
  MEDIA_UNREFERENCED_AFTER_MS: nonNegativeInt(defaultMediaSettings.unreferencedAfterMs),
  MEDIA_RESOLVE_GRACE_MS: nonNegativeInt(defaultMediaSettings.resolveGraceMs),
  MEDIA_MAX_IMAGE_PIXELS: positiveInt(defaultMediaSettings.maxImagePixels),
  MEDIA_PROCESSING_CONCURRENCY: positiveInt(2),
  MEDIA_PROCESSING_QUEUE_LIMIT: nonNegativeInt(32),
  MEDIA_CLEANUP_INTERVAL_MS: nonNegativeInt(60_000),
};

const mediaEnvSchema = z.object(mediaEnv);
export type MediaEnv = z.infer<typeof mediaEnvSchema>;

export function mediaSettingsFrom(env: MediaEnv): MediaSettings {
  return {
    ...defaultMediaSettings,
    maxImageBytes: env.MEDIA_MAX_IMAGE_BYTES,
    maxFileBytes: env.MEDIA_MAX_FILE_BYTES,
    dailyQuotaBytes: env.MEDIA_DAILY_QUOTA_BYTES,
    uploadUrlTtlSeconds: env.MEDIA_UPLOAD_URL_TTL_SECONDS,
    downloadUrlTtlSeconds: env.MEDIA_DOWNLOAD_URL_TTL_SECONDS,
    abandonedAfterMs: env.MEDIA_ABANDONED_AFTER_MS,
    unreferencedAfterMs: env.MEDIA_UNREFERENCED_AFTER_MS,
    resolveGraceMs: env.MEDIA_RESOLVE_GRACE_MS,
    maxImagePixels: env.MEDIA_MAX_IMAGE_PIXELS,
  };
}

