import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { HttpRoute } from "@messenger/rpc";
import { openLocalBlobStore, openMinioBlobStore, type BlobStore, type MinioEnv } from "@messenger/blobs";

/** The blob store the environment selects, and the HTTP routes it needs on the media service's port. */
export interface ConfiguredBlobStore {
  readonly blobs: BlobStore;
  readonly routes: Record<string, HttpRoute>;
  /** "minio" or the local folder's path, for the start-up log. */
  readonly describe: string;
}

/** The local URL-signing key: from the environment, else made once and kept in the data directory. */
function urlSecret(dataDir: string, fromEnv: string | undefined): Uint8Array {
  if (fromEnv) return Buffer.from(fromEnv, "base64");
  const path = join(dataDir, "keys", "media-url.key");
  try {
    return Buffer.from(readFileSync(path, "utf8").trim(), "base64");
  } catch {
    mkdirSync(dirname(path), { recursive: true });
    const key = randomBytes(32);
    writeFileSync(path, `${key.toString("base64")}\n`, { mode: 0o600, flag: "wx" });
    return key;
  }
}

export async function blobStoreFromEnv(
  env: MinioEnv & { MINIO_BUCKET: string; MEDIA_URL_SECRET?: string | undefined },
  local: { dataDir: string; publicBaseUrl: () => string },
): Promise<ConfiguredBlobStore> {
  if (env.MINIO_ENDPOINT) {
    const blobs = await openMinioBlobStore({ ...env, MINIO_ENDPOINT: env.MINIO_ENDPOINT }, env.MINIO_BUCKET);
    return { blobs, routes: {}, describe: `${env.MINIO_ENDPOINT} bucket ${env.MINIO_BUCKET}` };
  }
  const dir = join(local.dataDir, "media", "blobs");
  const store = openLocalBlobStore({
    dir,
    secret: urlSecret(local.dataDir, env.MEDIA_URL_SECRET),
    publicBaseUrl: local.publicBaseUrl,
  });
  return { blobs: store, routes: { [store.httpPrefix]: (req, res) => store.handle(req, res) }, describe: dir };
}
