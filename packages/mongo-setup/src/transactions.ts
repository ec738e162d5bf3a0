import { MongoServerError, type TransactionOptions } from "mongodb";

/**
 * The transactions of every MongoDB adapter: one snapshot read, a majority commit. A write
 * conflict (another transaction wrote a document this one writes, since its snapshot) aborts
 * one of them, and the driver's withTransaction runs it again (TransientTransactionError),
 * so each transaction acts as if alone.
 */
export const snapshotTransactionOptions: TransactionOptions = {
  readConcern: { level: "snapshot" },
  writeConcern: { w: "majority" },
  readPreference: "primary",
};

/** MongoDB's duplicate key error (E11000), on insert or upsert. */
export function isDuplicateKey(err: unknown): boolean {
  return err instanceof MongoServerError && err.code === 11000;
}
