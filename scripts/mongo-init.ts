// Prepares a MongoDB deployment for the store's history: creates its collections and indexes
// and, when MONGODB_URI points at a mongos (a sharded cluster), enables sharding on the
// database and shards each collection on its key (see services/store/docs/mongodb.md).
// Idempotent: a second run takes no step and says so.
//
//   MONGODB_URI=mongodb://host:27017/messenger npm run mongo-init [-- --db NAME]
import { parseArgs } from "node:util";
import { initMongoHistory } from "@messenger/store";

const { values } = parseArgs({ options: { db: { type: "string" } } });
const uri = process.env.MONGODB_URI;
if (!uri) {
  console.error("mongo-init: set MONGODB_URI to the replica set or mongos to prepare (e.g. mongodb://localhost:27017/messenger)");
  process.exit(2);
}
try {
  const report = await initMongoHistory(uri, values.db ? { dbName: values.db } : {});
  const where = `database ${report.database} (${report.sharded ? "sharded cluster, through a mongos" : "not a mongos: collections are not sharded"})`;
  if (report.steps.length === 0) console.log(`mongo-init: ${where} already has every collection and index${report.sharded ? ", sharded on its key" : ""}; nothing to do`);
  else {
    console.log(`mongo-init: ${where}`);
    for (const step of report.steps) console.log(`  ${step}`);
  }
} catch (err) {
  console.error(`mongo-init: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
