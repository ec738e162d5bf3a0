import { z } from "@messenger/config";
import { openS3BlobStore } from "./s3-blob-store.js";
import { s3OptionsFromEndpoint } from "./s3-endpoint.js";
import type { BlobStore } from "./blob-store.js";

/** The MinIO / S3 connection, the same for every service that keeps blobs (documented in the README's configuration). */
export const minioEnv = {
  MINIO_ENDPOINT: z.string().url().optional(),
  MINIO_ACCESS_KEY: z.string().default(""),
  MINIO_SECRET_KEY: z.string().default(""),
  MINIO_BUCKET: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "an S3 bucket name").default("messenger-media"),
  MINIO_REGION: z.string().min(1).default("us-east-1"),
};

export type MinioEnv = { MINIO_ENDPOINT?: string | undefined; MINIO_ACCESS_KEY: string; MINIO_SECRET_KEY: string; MINIO_REGION: string };

/** The S3 blob store of `bucket` on the configured endpoint (created if missing). */
export function openMinioBlobStore(env: MinioEnv & { MINIO_ENDPOINT: string }, bucket: string): Promise<BlobStore> {
  return openS3BlobStore(s3OptionsFromEndpoint(env.MINIO_ENDPOINT, { accessKey: env.MINIO_ACCESS_KEY, secretKey: env.MINIO_SECRET_KEY, region: env.MINIO_REGION, bucket }));
}
