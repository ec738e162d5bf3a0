import { createHash } from "node:crypto";
import { ensureBucket, type JetStreamReplication } from "@messenger/bus";
import type { KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import type { SentMarks } from "../domain/sent-marks.js";

/** The KV bucket of the marks; entries expire with the bucket's TTL. */
export const sentMarksBucket = "messenger_push_sent";

const sent = "sent";
const claimUntil = (t: number): string => `claim:${t}`;
const claimExpiry = (value: string): number | undefined => (value.startsWith("claim:") ? Number(value.slice(6)) : undefined);
/** KV keys allow [-/_=.a-zA-Z0-9]; ours hold ":" and user-chosen device ids. */
const kvKey = (key: string): string => createHash("sha256").update(key).digest("hex").slice(0, 40);

/**
 * Sent marks shared by every push worker replica, in a NATS KV bucket (`keepMs` TTL,
 * `replication.replicas` copies). A
 * claim is a create (refused when the key exists) or, over a claim that lapsed, an update
 * at the revision read (compare-and-set): two replicas never both hold one.
 */
export async function createNatsSentMarks(nc: NatsConnection, opts: { keepMs: number; now?: () => number; replication?: JetStreamReplication }): Promise<SentMarks> {
  const now = opts.now ?? Date.now;
  const kv: KV = await ensureBucket(nc, sentMarksBucket, { history: 1, ttl: opts.keepMs }, opts.replication);
  const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
  return {
    async claim(key, forMs) {
      const k = kvKey(key);
      try {
        await kv.create(k, claimUntil(now() + forMs));
        return true;
      } catch {
        // The key exists (or existed): sent, claimed, or a claim that lapsed.
      }
      const entry = await kv.get(k);
      if (!entry || entry.operation !== "PUT") {
        try {
          await kv.create(k, claimUntil(now() + forMs));
          return true;
        } catch {
          return false;
        }
      }
      const until = claimExpiry(text(entry.value));
      if (until === undefined || until > now()) return false;
      try {
        await kv.update(k, claimUntil(now() + forMs), entry.revision);
        return true;
      } catch {
        return false;
      }
    },
    async confirm(key) {
      await kv.put(kvKey(key), sent);
    },
    async release(key) {
      const k = kvKey(key);
      const entry = await kv.get(k);
      if (entry?.operation === "PUT" && claimExpiry(text(entry.value)) !== undefined) await kv.delete(k, { previousSeq: entry.revision }).catch(() => undefined);
    },
    async close() {},
  };
}
