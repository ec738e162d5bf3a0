import { AckPolicy, DeliverPolicy, RetentionPolicy, StorageType, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { nanos, type NatsConnection } from "@nats-io/transport-node";
import type { Subscription } from "./bus.js";
import { QueueUnavailableError, redeliveryDelay, type DurableQueue } from "./durable-queue.js";
import { ensureStream, type JetStreamReplication } from "./jetstream-replicas.js";

/** A JetStream stream used as a work queue. */
export interface QueueStream {
  readonly name: string;
  readonly subjects: readonly string[];
  /** Messages older than this are dropped unconsumed. */
  readonly maxAgeMs: number;
}

/** Options of createJetStreamQueue. */
export interface JetStreamQueueOptions {
  /** A handler that threw gets its message again after this long. @default 1000 */
  readonly retryMs?: number;
  /** A publish the server has not confirmed after this long rejects (QueueUnavailableError). @default 5000 */
  readonly publishTimeoutMs?: number;
  /** A consumer's pull failed; it consumes again after retryMs. */
  readonly onError?: (err: unknown) => void;
  /** Copies of the stream on the NATS cluster's servers (an existing stream with fewer is raised). */
  readonly replication?: JetStreamReplication;
}

/**
 * The durable queue on JetStream: a file-backed work-queue stream (each message is removed
 * once a consumer acknowledges it) kept on `replication.replicas` servers, publish
 * acknowledged by the server and deduplicated by its dedup id (Nats-Msg-Id) over the
 * stream's duplicate window (two minutes), a durable consumer per group (as many replicas as
 * its stream) with explicit acks; a handler that throws gets the message again after
 * `retryMs`, its attempt number counted by the server (the delivery count).
 *
 * While the connection is down (between the client's disconnect and reconnect events, or
 * once it is closed) publish rejects at once with QueueUnavailableError instead of
 * buffering; one made just before the client noticed rejects after `publishTimeoutMs`. Such
 * a publish may still reach the stream when the link comes back (the client flushes what it
 * had buffered): the caller's retry with the same dedup id is then dropped as a repeat.
 */
export async function createJetStreamQueue(nc: NatsConnection, stream: QueueStream, opts: JetStreamQueueOptions = {}): Promise<DurableQueue> {
  await ensureStream(
    nc,
    { name: stream.name, subjects: [...stream.subjects], retention: RetentionPolicy.Workqueue, storage: StorageType.File, max_age: nanos(stream.maxAgeMs) },
    opts.replication,
  );
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const stops: (() => void)[] = [];
  let linkDown = false;
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === "disconnect") linkDown = true;
      else if (s.type === "reconnect") linkDown = false;
    }
  })().catch(() => {
    // The status stream ends with the connection; isClosed() answers from then on.
  });
  const publishTimeoutMs = opts.publishTimeoutMs ?? 5_000;
  return {
    async publish(subject, data, dedupId) {
      if (nc.isClosed()) throw new QueueUnavailableError(`queue ${stream.name}: the NATS connection is closed`);
      if (linkDown) throw new QueueUnavailableError(`queue ${stream.name}: NATS is unreachable (reconnecting)`);
      try {
        await js.publish(subject, data, { timeout: publishTimeoutMs, ...(dedupId ? { msgID: dedupId } : {}) });
      } catch (err) {
        throw new QueueUnavailableError(`queue ${stream.name}: the message was not stored`, { cause: err });
      }
    },
    async consume(group, handler, consumeOpts): Promise<Subscription> {
      const concurrency = Math.max(1, consumeOpts?.concurrency ?? 1);
      try {
        await jsm.consumers.info(stream.name, group);
      } catch {
        await jsm.consumers.add(stream.name, { durable_name: group, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, ack_wait: nanos(30_000) });
      }
      const consumer = await js.consumers.get(stream.name, group);
      let stopped = false;
      let current: { stop(): unknown } | undefined;
      // The loop outlives a failed pull (a consumer deleted under it, a lost connection):
      // it says so and consumes again, rather than ending silently with work left queued.
      const loop = async (): Promise<void> => {
        while (!stopped) {
          try {
            const messages = await consumer.consume();
            current = messages;
            if (stopped) void messages.stop();
            const inFlight = new Set<Promise<void>>();
            for await (const m of messages) {
              const handled = (async () => {
                // A handler slower than the ack wait must not have its message handed to another consumer meanwhile.
                const keepAlive = setInterval(() => m.working(), 10_000);
                try {
                  await handler(m.data, m.subject, { attempt: m.info.deliveryCount });
                  m.ack();
                } catch (err) {
                  m.nak(redeliveryDelay(err, opts.retryMs ?? 1_000));
                } finally {
                  clearInterval(keepAlive);
                }
              })();
              inFlight.add(handled);
              void handled.finally(() => inFlight.delete(handled));
              if (inFlight.size >= concurrency) await Promise.race(inFlight);
            }
            await Promise.all(inFlight);
          } catch (err) {
            if (stopped) return;
            if (opts.onError) opts.onError(err);
            else throw err;
          }
          if (!stopped) await new Promise((r) => setTimeout(r, opts.retryMs ?? 1_000));
        }
      };
      // Without onError a failed pull ends the loop with its error unhandled: it surfaces as
      // the process's unhandled rejection (logged, the process exits) rather than passing unseen.
      void loop();
      const stop = (): void => {
        stopped = true;
        void current?.stop();
      };
      stops.push(stop);
      return { unsubscribe: stop };
    },
    async close() {
      for (const stop of stops) stop();
    },
  };
}
