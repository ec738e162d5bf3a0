import { join } from "node:path";
import type { MediaRepository } from "./storage/media-repository.js";
import { openMongoMediaRepository } from "./storage/mongo-media-repository.js";
import { openSqliteMediaRepository } from "./storage/sqlite-media-repository.js";

/**
 * Where media records are kept: MongoDB when MONGODB_URI is set (any number of media
 * replicas share them), else the SQLite file DATA_DIR/media.db (one replica per data directory).
 */
export async function mediaRepositoryFromEnv(env: { readonly MONGODB_URI?: string | undefined }, dataDir: string): Promise<{ repo: MediaRepository; describe: string }> {
  if (env.MONGODB_URI) return { repo: await openMongoMediaRepository(env.MONGODB_URI), describe: "mongodb" };
  const path = join(dataDir, "media.db");
  return { repo: openSqliteMediaRepository(path), describe: path };
}
