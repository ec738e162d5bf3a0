import type { Client } from "@connectrpc/connect";
import type { TokenVerifier } from "@messenger/auth";
import type { Logger } from "@messenger/logging";
import type { StoreService } from "@messenger/proto/store/v1/store_service";
import type { ServiceMetrics } from "@messenger/rpc";
import { createMediaApp, type MediaApp } from "./app.js";
import { blobStoreFromEnv } from "./blob-store-from-env.js";
import { mediaSettingsFrom, type MediaEnv } from "./media-env.js";
import { mediaRepositoryFromEnv } from "./media-repository-from-env.js";

/**
 * The media service as its environment configures it, for the service process and the
 * one-process system alike: records in MongoDB or DATA_DIR/media.db, blobs in MinIO / S3 or in
 * DATA_DIR/media/blobs behind the HTTP port (`http.port()`: known once it listens), named in
 * signed URLs as MEDIA_PUBLIC_URL or, by default, as its listen host (loopback for a wildcard).
 */
export async function createMediaAppFromEnv(
  config: MediaEnv & { readonly DATA_DIR: string },
  deps: { verifier: TokenVerifier; store: Client<typeof StoreService>; log: Logger; metrics?: ServiceMetrics; http: { host: string; port: () => number } },
): Promise<MediaApp> {
  const host = deps.http.host === "0.0.0.0" || deps.http.host === "::" ? "127.0.0.1" : deps.http.host;
  const blobs = await blobStoreFromEnv(config, { dataDir: config.DATA_DIR, publicBaseUrl: () => config.MEDIA_PUBLIC_URL ?? `http://${host}:${deps.http.port()}` });
  deps.log.info({ blobs: blobs.describe }, "media blob store");
  const records = await mediaRepositoryFromEnv(config, config.DATA_DIR).catch(async (err: unknown) => {
    await blobs.blobs.close();
    throw err;
  });
  deps.log.info({ records: records.describe }, "media records");
  return createMediaApp({
    verifier: deps.verifier,
    store: deps.store,
    repo: records.repo,
    blobs: blobs.blobs,
    blobRoutes: blobs.routes,
    settings: mediaSettingsFrom(config),
    processing: { concurrency: config.MEDIA_PROCESSING_CONCURRENCY, maxQueued: config.MEDIA_PROCESSING_QUEUE_LIMIT },
    cleanupIntervalMs: config.MEDIA_CLEANUP_INTERVAL_MS,
    log: deps.log,
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
  });
}
