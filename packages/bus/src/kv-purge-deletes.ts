import { DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";

/** A key's last entry in a KV bucket when it is a delete or purge marker. */
export interface DeleteMarker {
  /** The marker's subject in the bucket's stream: `$KV.<bucket>.<key>`. */
  readonly subject: string;
  /** The marker's stream sequence (its revision). */
  readonly revision: number;
}

/** Markers read per pull: the pass reads headers only, so large batches stay small. */
const batch = 4_096;

/** Purge requests in flight at once: thousands of sessions of a dead gateway end together. */
const purgesAtOnce = 64;

/**
 * The delete and purge markers of a KV bucket written before `olderThanMs` ago: one ordered
 * pass over the bucket's stream (KV_<bucket>) with DeliverLastPerSubject and headers only,
 * so live values are not read. Markers written meanwhile may or may not be in it.
 */
export async function oldDeleteMarkers(nc: NatsConnection, bucket: string, olderThanMs: number, now = Date.now()): Promise<DeleteMarker[]> {
  const consumer = await jetstream(nc).consumers.get(`KV_${bucket}`, {
    filter_subjects: `$KV.${bucket}.>`,
    deliver_policy: DeliverPolicy.LastPerSubject,
    headers_only: true,
  });
  const markers: DeleteMarker[] = [];
  const before = now - olderThanMs;
  try {
    if ((await consumer.info(true)).num_pending === 0) return markers;
    for (;;) {
      let got = 0;
      for await (const m of await consumer.fetch({ max_messages: batch, expires: 1_000 })) {
        got++;
        const op = m.headers?.get("KV-Operation");
        if ((op === "DEL" || op === "PURGE") && m.time.getTime() <= before) markers.push({ subject: m.subject, revision: m.seq });
        if (m.info.pending === 0) return markers;
      }
      if (got === 0 && (await consumer.info()).num_pending === 0) return markers;
    }
  } finally {
    await consumer.delete().catch(() => {
      // An ordered consumer left behind is removed by the server after its inactivity threshold.
    });
  }
}

/**
 * Removes the given markers from the bucket's stream. Each purge is bounded by the marker's
 * own sequence, so a value written to the key after the marker was read survives (an
 * unbounded purge of the subject would erase it). Purging a marker that is already gone
 * purges nothing, so any number of processes may run this at once. Returns how many messages
 * were removed; `stopped` is asked between batches so that a closing caller is not held up.
 */
export async function purgeDeleteMarkers(nc: NatsConnection, bucket: string, markers: readonly DeleteMarker[], stopped: () => boolean = () => false): Promise<number> {
  const jsm = await jetstreamManager(nc);
  let purged = 0;
  for (let i = 0; i < markers.length && !stopped(); i += purgesAtOnce) {
    const results = await Promise.all(
      markers.slice(i, i + purgesAtOnce).map((m) => jsm.streams.purge(`KV_${bucket}`, { filter: m.subject, seq: m.revision + 1 })),
    );
    for (const r of results) purged += r.purged;
  }
  return purged;
}

/**
 * Purges a KV bucket's delete markers older than `olderThanMs`. On nats-server 2.9 a deleted
 * key keeps its marker for good, so a bucket of ever-new keys (random session ids) grows by
 * one message per key ever removed. The library's `kv.purgeDeletes` does not bound its purge
 * by sequence (it can erase a value put between its read and its purge) and reads every live
 * value; this does neither. A conditional write that named a purged revision fails as a lost
 * race (the key's last sequence is 0 then), as with any other change of the key.
 */
export async function purgeOldDeletes(nc: NatsConnection, bucket: string, olderThanMs: number, stopped?: () => boolean): Promise<number> {
  return purgeDeleteMarkers(nc, bucket, await oldDeleteMarkers(nc, bucket, olderThanMs), stopped);
}
