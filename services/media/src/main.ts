import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createTokenVerifier } from "@messenger/auth";
import { parseEnv, serviceEnv, serviceUrl, z } from "@messenger/config";
import { StoreService } from "@messenger/proto/store/v1/store_service";
import { peerTransport, runService } from "@messenger/rpc";
import { createMediaApp } from "./app.js";
import { blobStoreFromEnv } from "./blob-store-from-env.js";
import { mediaEnv, mediaSettingsFrom } from "./media-env.js";
import { openSqliteMediaRepository } from "./storage/sqlite-media-repository.js";

const env = z.object({
  ...serviceEnv,
  STORE_URL: serviceUrl(),
  JWKS_URL: serviceUrl(),
  DATA_DIR: z.string().min(1).default("./data-media"),
  ...mediaEnv,
});

await runService("media", () => parseEnv(env), async (config, { log, metrics }) => {
  let httpPort = config.HTTP_PORT;
  const configured = await blobStoreFromEnv(config, { dataDir: config.DATA_DIR, publicBaseUrl: () => `http://${config.HOST}:${httpPort}` });
  log.info({ blobs: configured.describe }, "blob store");
  const app = createMediaApp({
    verifier: createTokenVerifier({ jwksUrl: config.JWKS_URL }),
    store: createClient(StoreService, peerTransport(config.STORE_URL)),
    repo: openSqliteMediaRepository(join(config.DATA_DIR, "media.db")),
    blobs: configured.blobs,
    blobRoutes: configured.routes,
    settings: mediaSettingsFrom(config),
    processing: { concurrency: config.MEDIA_PROCESSING_CONCURRENCY, maxQueued: config.MEDIA_PROCESSING_QUEUE_LIMIT },
    cleanupIntervalMs: config.MEDIA_CLEANUP_INTERVAL_MS,
    log,
    metrics,
  });
  return {
    routes: app.routes,
    extraHttpRoutes: app.httpRoutes,
    started(ports) {
      httpPort = ports.httpPort;
    },
    close: () => app.close(),
  };
});
