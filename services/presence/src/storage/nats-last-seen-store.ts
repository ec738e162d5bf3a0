import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { TimestampSchema, timestampDate, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { ensureBucket, lostRace, type JetStreamReplication } from "@messenger/bus";
import { StorageType } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { LastSeenStore } from "./last-seen-store.js";
import { userKey } from "./user-key.js";

/** The KV bucket holding last-seen times: one key per user, the value a google.protobuf.Timestamp. */
export const lastSeenBucket = "messenger_last_seen";

const encode = (atMs: number): Uint8Array => toBinary(TimestampSchema, timestampFromMs(Math.trunc(atMs)));
const decode = (bytes: Uint8Array): number => timestampDate(fromBinary(TimestampSchema, bytes)).getTime();

/**
 * Last seen on NATS JetStream KV (bucket `messenger_last_seen`, file storage, history 1,
 * `replication.replicas` copies), shared by every presence replica. Writes are compare-and-set on the key's revision, so
 * two replicas recording the same user keep the later time whatever order they land in.
 * Reads go to the server each time (no local cache another replica could make stale).
 */
export async function createNatsLastSeenStore(nc: NatsConnection, opts: { replication?: JetStreamReplication } = {}): Promise<LastSeenStore> {
  const kv = await ensureBucket(nc, lastSeenBucket, { history: 1, storage: StorageType.File }, opts.replication);
  const read = async (userId: string): Promise<{ atMs: number; revision: number } | undefined> => {
    const e = await kv.get(userKey(userId));
    if (!e || e.operation !== "PUT" || e.value.length === 0) return undefined;
    return { atMs: decode(e.value), revision: e.revision };
  };
  return {
    async get(userIds) {
      const unique = [...new Set(userIds)];
      const found = await Promise.all(unique.map(read));
      const out = new Map<string, number>();
      unique.forEach((userId, i) => {
        const f = found[i];
        if (f) out.set(userId, f.atMs);
      });
      return out;
    },
    async put(userId, atMs) {
      const key = userKey(userId);
      // A lost race (another writer between our read and write) is retried against the new
      // value; it ends as soon as the stored time is at least ours.
      for (let attempt = 0; ; attempt++) {
        const current = await read(userId);
        if (current && current.atMs >= atMs) return;
        try {
          if (current) await kv.update(key, encode(atMs), current.revision);
          else await kv.create(key, encode(atMs));
          return;
        } catch (err) {
          if (!lostRace(err)) throw err;
          if (attempt >= 10) throw new Error(`last seen of ${userId} not written: too many concurrent writers`, { cause: err });
        }
      }
    },
    async close() {
      // The connection belongs to the caller; the bucket keeps its data.
    },
  };
}
