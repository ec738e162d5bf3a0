export type { MongoCollectionLayout, MongoIndexLayout } from "./collection-layout.js";
export { databaseOf } from "./database-name.js";
export { indexDifference } from "./index-spec.js";
export {
  helloIsMongos,
  helloOf,
  isMongos,
  minTransactionalWireVersion,
  requireTransactionalServer,
  requireTransactions,
  transactionSupportProblems,
  UnsuitableMongoServerError,
} from "./server-check.js";
export {
  describeSetupAction,
  MongoLayoutConflictError,
  planMongoSetup,
  stateAfterSetup,
  type MongoSetupAction,
  type MongoSetupState,
} from "./setup-plan.js";
export { applyMongoSetup, ensureMongoSchema, initMongoLayout, readMongoSetupState, type MongoInitOptions, type MongoInitReport } from "./setup-run.js";
export { isDuplicateKey, snapshotTransactionOptions } from "./transactions.js";
