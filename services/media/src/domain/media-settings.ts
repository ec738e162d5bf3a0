/** Limits and timings of the media service (see the README's configuration). */
export interface MediaSettings {
  /** Largest image upload (MEDIA_MAX_IMAGE_BYTES, 16 MiB). */
  readonly maxImageBytes: number;
  /** Largest other file (MEDIA_MAX_FILE_BYTES, 100 MiB). */
  readonly maxFileBytes: number;
  /** Bytes a user may reserve for uploads in any 24 hours (MEDIA_DAILY_QUOTA_BYTES, 1 GiB). */
  readonly dailyQuotaBytes: number;
  /** Lifetime of an upload URL (MEDIA_UPLOAD_URL_TTL_SECONDS, 15 min). */
  readonly uploadUrlTtlSeconds: number;
  /** Lifetime of a download URL (MEDIA_DOWNLOAD_URL_TTL_SECONDS, 5 min). */
  readonly downloadUrlTtlSeconds: number;
  /** An upload never completed is deleted this long after its URL expired (MEDIA_ABANDONED_AFTER_MS, 1 h). */
  readonly abandonedAfterMs: number;
  /** A completed upload no stored message references is deleted this long after completion (MEDIA_UNREFERENCED_AFTER_MS, 24 h). */
  readonly unreferencedAfterMs: number;
  /** After a send named a media, the cleanup leaves it alone this long, so a send in flight never loses its blob. */
  readonly resolveGraceMs: number;
  /** Largest image in pixels; more is refused undecoded (MEDIA_MAX_IMAGE_PIXELS, 40 M). */
  readonly maxImagePixels: number;
  /** Longer side of a thumbnail (320). */
  readonly thumbnailMaxSide: number;
  /** Largest inline preview carried in the message (8 KiB, the MediaRef limit). */
  readonly previewMaxBytes: number;
}

export const MiB = 1024 * 1024;

export const defaultMediaSettings: MediaSettings = {
  maxImageBytes: 16 * MiB,
  maxFileBytes: 100 * MiB,
  dailyQuotaBytes: 1024 * MiB,
  uploadUrlTtlSeconds: 15 * 60,
  downloadUrlTtlSeconds: 5 * 60,
  abandonedAfterMs: 60 * 60_000,
  unreferencedAfterMs: 24 * 60 * 60_000,
  resolveGraceMs: 10 * 60_000,
  maxImagePixels: 40_000_000,
  thumbnailMaxSide: 320,
  previewMaxBytes: 8192,
};
