export { createMediaApp, type MediaApp, type MediaAppDeps } from "./app.js";
export { blobStoreFromEnv, type ConfiguredBlobStore } from "./blob-store-from-env.js";
export { mediaEnv, mediaSettingsFrom } from "./media-env.js";
export { openSqliteMediaRepository } from "./storage/sqlite-media-repository.js";
export type { BlobStore, SignedRequest } from "./blobs/blob-store.js";
export { defaultMediaSettings, type MediaSettings } from "./domain/media-settings.js";
