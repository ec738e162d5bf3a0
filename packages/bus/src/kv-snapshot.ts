import { DeliverPolicy, jetstream } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";

/** One key's entry as a snapshot pass reads it from the bucket's stream. */
export interface BucketEntry {
  readonly key: string;
  /** The entry's stream sequence, which KV calls its revision. */
  readonly revision: number;
  readonly operation: "PUT" | "DEL" | "PURGE";
  readonly value: Uint8Array;
}

/** Messages asked of the server per pull: large, the pass is bound by how fast it can read. */
const batch = 4_096;

/**
 * Reads every key's last entry of a KV bucket in one ordered pass: an ordered consumer on the
 * bucket's stream (KV_<bucket>) with DeliverLastPerSubject, entries in revision order,
 * deletes included, pulled in large batches: a round trip per few thousand keys instead of
 * one per key. The pass ends once it has read `upTo` or reached the stream's end; entries
 * written meanwhile may or may not be in it (the caller's watch brings them). A lost
 * connection fails it (a partial pass is no snapshot). The consumer is deleted afterwards.
 */
export async function readBucket(nc: NatsConnection, bucket: string, upTo: number, onEntry: (e: BucketEntry) => void): Promise<void> {
  const prefix = `$KV.${bucket}.`;
  const consumer = await jetstream(nc).consumers.get(`KV_${bucket}`, { filter_subjects: `${prefix}>`, deliver_policy: DeliverPolicy.LastPerSubject });
  try {
    // Pulls of `batch` entries until the pass is over. A pull that brings nothing (the
    // entries still pending when the last one came expired since, in a bucket with a max
    // age) asks the consumer whether anything is left instead of waiting for it forever.
    if ((await consumer.info(true)).num_pending === 0) return;
    for (;;) {
      let got = 0;
      for await (const m of await consumer.fetch({ max_messages: batch, expires: 1_000 })) {
        got++;
        const op = m.headers?.get("KV-Operation");
        onEntry({ key: m.subject.slice(prefix.length), revision: m.seq, operation: op === "DEL" || op === "PURGE" ? op : "PUT", value: m.data });
        if (m.info.pending === 0 || m.seq >= upTo) return;
      }
      if (got === 0 && (await consumer.info()).num_pending === 0) return;
    }
  } finally {
    await consumer.delete().catch(() => {
      // An ordered consumer left behind is removed by the server after its inactivity threshold.
    });
  }
}
