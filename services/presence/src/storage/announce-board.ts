import type { AnnounceRecord } from "../domain/announce-window.js";

/** A user's announcement record with the revision a conditional write names. */
export interface VersionedRecord {
  readonly record: AnnounceRecord;
  /** Positive; changes with every write. */
  readonly revision: number;
}

/**
 * The announcement board port: per user, what watchers have been told and what is held in
 * the current window, shared by every presence replica. Every write is compare-and-set, so
 * of several replicas taking the same change exactly one wins and announces it.
 */
export interface AnnounceBoard {
  /** The user's record; undefined when none was written. */
  get(userId: string): Promise<VersionedRecord | undefined>;
  /**
   * Writes the user's record if it is still at `revision` (0: none exists yet). False, with
   * nothing written, when another writer changed it first.
   */
  swap(userId: string, record: AnnounceRecord, revision: number): Promise<boolean>;
  /** Releases what the board opened; the records stay. */
  close(): Promise<void>;
}

/** The board of the one-process system: in memory, so every change of one process's users is its own. */
export function createMemoryAnnounceBoard(): AnnounceBoard {
  const records = new Map<string, VersionedRecord>();
  let revisions = 0;
  return {
    async get(userId) {
      return records.get(userId);
    },
    async swap(userId, record, revision) {
      if ((records.get(userId)?.revision ?? 0) !== revision) return false;
      records.set(userId, { record, revision: ++revisions });
      return true;
    },
    async close() {
      // Kept until the process ends, as records in a bucket outlive a replica.
    },
  };
}
