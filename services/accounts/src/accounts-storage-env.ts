import { join } from "node:path";
import { z } from "@messenger/config";
import type { AccountsRepositories } from "./storage/accounts-repositories.js";
import { openMongoAccountRepository } from "./storage/mongo-account-repository.js";
import { openSqliteAccountRepository } from "./storage/sqlite-account-repository.js";

/**
 * Where accounts are kept: MongoDB when MONGODB_URI is set (what several accounts replicas
 * need: they share it), else the SQLite file DATA_DIR/accounts.db (one process only).
 */
export const accountsStorageEnv = {
  /** A replica set or a mongos, MongoDB 5.0+ (transactions and snapshot reads); see services/accounts/docs/mongodb.md. */
  MONGODB_URI: z.string().min(1).optional(),
};

/** The accounts repositories the environment selects, and where they are, for the start log. */
export async function accountsRepositoryFromEnv(env: { MONGODB_URI?: string | undefined }, dataDir: string): Promise<{ repo: AccountsRepositories; describe: string }> {
  if (env.MONGODB_URI) return { repo: await openMongoAccountRepository(env.MONGODB_URI), describe: "mongodb" };
  const path = join(dataDir, "accounts.db");
  return { repo: openSqliteAccountRepository(path), describe: path };
}
