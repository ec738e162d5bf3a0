import { join } from "node:path";
import { z } from "@messenger/config";
import type { HistoryRepository } from "./storage/history-repository.js";
import { openMongoHistoryRepository } from "./storage/mongo-history-repository.js";
import { openSqliteHistoryRepository } from "./storage/sqlite-history-repository.js";
import type { RowsWritten } from "./storage/sqlite-writes.js";

/** Where history is kept: MongoDB when MONGODB_URI is set, else the SQLite file DATA_DIR/history.db. */
export const historyEnv = {
  /** A replica set or a mongos (transactions are needed); see services/store/docs/mongodb.md. */
  MONGODB_URI: z.string().min(1).optional(),
};

/** The history repository the environment selects. */
export async function historyRepositoryFromEnv(
  env: { MONGODB_URI?: string | undefined },
  dataDir: string,
  opts: { largeGroupThreshold: number; onCommitted: (rows: RowsWritten, messagesStored: number) => void },
): Promise<{ repo: HistoryRepository; describe: string }> {
  if (env.MONGODB_URI) return { repo: await openMongoHistoryRepository(env.MONGODB_URI, opts), describe: "mongodb" };
  const path = join(dataDir, "history.db");
  return { repo: openSqliteHistoryRepository(path, opts), describe: path };
}
