// Prepares a MongoDB deployment for every service that keeps data in it: the store's history
// (services/store/docs/mongodb.md), media's upload records (services/media/docs/mongodb.md)
// and accounts (services/accounts/docs/mongodb.md). Creates collections and indexes and, when
// MONGODB_URI points at a mongos (a sharded cluster), enables sharding on the database and
// shards each collection on its key. Idempotent: a second run takes no step and says so.
// The Helm chart runs it as a hook (after install, before each upgrade).
//
//   MONGODB_URI=mongodb://host:27017/messenger npm run mongo-init [-- --db NAME]
import { parseArgs } from "node:util";
import { initMongoAccounts } from "@messenger/accounts";
import { initMongoMedia } from "@messenger/media";
import { initMongoHistory } from "@messenger/store";

interface InitReport {
  readonly database: string;
  readonly sharded: boolean;
  readonly steps: readonly string[];
}

const parts: readonly [string, (uri: string, opts: { dbName?: string }) => Promise<InitReport>][] = [
  ["history", initMongoHistory],
  ["media", initMongoMedia],
  ["accounts", initMongoAccounts],
];

const { values } = parseArgs({ options: { db: { type: "string" } } });
const uri = process.env.MONGODB_URI;
if (!uri) {
  console.error("mongo-init: set MONGODB_URI to the replica set or mongos to prepare (e.g. mongodb://localhost:27017/messenger)");
  process.exit(2);
}
try {
  for (const [part, init] of parts) {
    const report = await init(uri, values.db ? { dbName: values.db } : {});
    const where = `${part} in database ${report.database} (${report.sharded ? "sharded cluster, through a mongos" : "not a mongos: collections are not sharded"})`;
    if (report.steps.length === 0) console.log(`mongo-init: ${where} already has every collection and index${report.sharded ? ", sharded on its key" : ""}; nothing to do`);
    else {
      console.log(`mongo-init: ${where}`);
      for (const step of report.steps) console.log(`  ${step}`);
    }
  }
} catch (err) {
  console.error(`mongo-init: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
