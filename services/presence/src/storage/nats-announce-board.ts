import { ensureBucket, lostRace, type JetStreamReplication } from "@messenger/bus";
import { StorageType } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { AnnounceBoard } from "./announce-board.js";
import { decodeAnnounceRecord, encodeAnnounceRecord } from "./announce-record-codec.js";
import { userKey } from "./user-key.js";

/** The KV bucket of announcement records: one key per user (see userKey). */
export const announceBucket = "messenger_presence_announce";

/**
 * The announcement board on NATS JetStream KV (bucket `messenger_presence_announce`, file
 * storage, history 1, `replication.replicas` copies), shared by every presence replica. A swap is a create (revision 0) or
 * an update on the key's revision, which the server refuses when the key moved on. Reads go
 * to the server each time: a replica's cache would be exactly the stale view the
 * compare-and-set exists to catch.
 */
export async function createNatsAnnounceBoard(nc: NatsConnection, opts: { replication?: JetStreamReplication } = {}): Promise<AnnounceBoard> {
  const kv = await ensureBucket(nc, announceBucket, { history: 1, storage: StorageType.File }, opts.replication);
  return {
    async get(userId) {
      const e = await kv.get(userKey(userId));
      if (!e || e.operation !== "PUT") return undefined;
      return { record: decodeAnnounceRecord(e.value), revision: e.revision };
    },
    async swap(userId, record, revision) {
      const key = userKey(userId);
      try {
        if (revision === 0) await kv.create(key, encodeAnnounceRecord(record));
        else await kv.update(key, encodeAnnounceRecord(record), revision);
        return true;
      } catch (err) {
        if (lostRace(err)) return false;
        throw err;
      }
    },
    async close() {
      // The connection belongs to the caller; the bucket keeps the records.
    },
  };
}
