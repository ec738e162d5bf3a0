export { createMediaApp, type MediaApp, type MediaAppDeps } from "./app.js";
export { mediaEnv, type MediaEnv } from "./media-env.js";
export { createMediaAppFromEnv } from "./media-from-env.js";
export type { BlobStore, SignedRequest } from "@messenger/blobs";
export { defaultMediaSettings, type MediaSettings } from "./domain/media-settings.js";
export { initMongoMedia, type MediaMongoInitReport } from "./storage/mongo-media-setup.js";
