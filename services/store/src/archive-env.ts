import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { minioEnv, openLocalBlobStore, openMinioBlobStore, type BlobStore, type MinioEnv } from "@messenger/blobs";
import { positiveInt, z } from "@messenger/config";
import { defaultArchiveSettings, type ArchiveSettings } from "./domain/archiver.js";

/**
 * The archive's environment, read by the store alone, the one-process system and
 * scripts/archive (see the README): where segments go (the MinIO bucket ARCHIVE_BUCKET when
 * MINIO_ENDPOINT is set, else DATA_DIR/archive) and when history is archived.
 */
export const archiveEnv = {
  ...minioEnv,
  ARCHIVE_BUCKET: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "an S3 bucket name").default("messenger-archive"),
  ARCHIVE_INTERVAL_MS: z.coerce.number().int().min(0).default(3_600_000),
  ARCHIVE_AFTER_MS: positiveInt(defaultArchiveSettings.olderThanMs),
  ARCHIVE_SEGMENT_MESSAGES: z.coerce.number().int().min(2).max(100_000).default(defaultArchiveSettings.segmentMessages),
  ARCHIVE_BATCH_SEGMENTS: positiveInt(100),
};

export interface ArchiveEnv extends MinioEnv {
  ARCHIVE_BUCKET: string;
  ARCHIVE_INTERVAL_MS: number;
  ARCHIVE_AFTER_MS: number;
  ARCHIVE_SEGMENT_MESSAGES: number;
  ARCHIVE_BATCH_SEGMENTS: number;
}

/** What the store needs to archive: where, when, how much per run. */
export interface ArchiveConfig {
  readonly blobs: BlobStore;
  /** Where segments go, for the start-up log. */
  readonly describe: string;
  readonly settings: ArchiveSettings;
  /** Between archiving runs; 0: only on demand (archiveNow, scripts/archive). */
  readonly intervalMs: number;
  /** Segments written per run at most (a run cut short goes on at once). */
  readonly batchSegments: number;
}

export async function archiveFromEnv(env: ArchiveEnv, dataDir: string): Promise<ArchiveConfig> {
  const settings = { olderThanMs: env.ARCHIVE_AFTER_MS, segmentMessages: env.ARCHIVE_SEGMENT_MESSAGES };
  const timing = { settings, intervalMs: env.ARCHIVE_INTERVAL_MS, batchSegments: env.ARCHIVE_BATCH_SEGMENTS };
  if (env.MINIO_ENDPOINT) {
    return { blobs: await openMinioBlobStore({ ...env, MINIO_ENDPOINT: env.MINIO_ENDPOINT }, env.ARCHIVE_BUCKET), describe: `${env.MINIO_ENDPOINT} bucket ${env.ARCHIVE_BUCKET}`, ...timing };
  }
  const dir = join(dataDir, "archive");
  // Segments are read by the store itself, never through a URL: the folder's URL signing is unused.
  const blobs = openLocalBlobStore({
    dir,
    secret: randomBytes(32),
    publicBaseUrl: () => {
      throw new Error("archive segments are not served over HTTP");
    },
  });
  return { blobs, describe: dir, ...timing };
}
