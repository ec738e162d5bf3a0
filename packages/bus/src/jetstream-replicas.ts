import { JetStreamApiCodes, JetStreamApiError, jetstream, jetstreamManager, type JetStreamManager, type StreamConfig, type StreamInfo } from "@nats-io/jetstream";
import { Kvm, type KV, type KvOptions } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";

/**
 * How many copies NATS keeps of the JetStream state (streams, KV buckets) a service creates.
 * One copy lives on one server: restarting that pod makes it unavailable, losing its volume
 * loses it. With 3 on a 3-node cluster, state outlives one server.
 */
export interface JetStreamReplication {
  /** Copies of each stream and bucket, each on another server of the NATS cluster: 1 to 5. @default 1 */
  readonly replicas?: number;
  /**
   * Told of each existing stream or bucket found with fewer copies and raised to `replicas`
   * (services log it). One found with more keeps them: lowering is an operator's decision.
   */
  readonly onRaised?: (raised: ReplicasRaised) => void;
}

/** An existing stream (a KV bucket is the stream KV_<bucket>) whose replicas were raised. */
export interface ReplicasRaised {
  readonly stream: string;
  readonly from: number;
  readonly to: number;
}

/** A stream or KV bucket could not be created, opened or given its replicas; `cause` holds the server's answer. */
export class JetStreamSetupError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "JetStreamSetupError";
  }
}

/** The replica count asked for, checked: a whole number from 1 to 5 (JetStream's maximum). */
export function replicasOf(replication: JetStreamReplication | undefined): number {
  const replicas = replication?.replicas ?? 1;
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5) {
    throw new JetStreamSetupError(`JetStream replicas must be a whole number from 1 to 5, got ${String(replicas)}`);
  }
  return replicas;
}

const streamNotFound = (err: unknown): boolean => err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound;

/**
 * A single server (not in a cluster) refuses to create a stream with more than one copy, but
 * accepts raising an existing one and then reports copies it does not keep: refuse both here,
 * so a wrong setting fails at start rather than promising redundancy that is not there.
 */
function checkClustered(nc: NatsConnection, replicas: number, what: string): void {
  if (replicas > 1 && !nc.info?.cluster) {
    throw new JetStreamSetupError(
      `${what}: ${replicas} JetStream replicas asked, but the NATS server ${nc.getServer()} is not part of a cluster and keeps one copy ` +
        `(use 1 replica with a single NATS server, or at most as many as the cluster's JetStream servers)`,
    );
  }
}

/** The server's refusal (or silence), said in the operator's terms. */
function setupError(what: string, replicas: number, err: unknown): JetStreamSetupError {
  const answer = err instanceof Error ? err.message : String(err);
  const hint =
    err instanceof JetStreamApiError
      ? replicas > 1
        ? ` (${replicas} replicas need a NATS cluster with at least ${replicas} JetStream servers)`
        : ""
      : " (no answer from JetStream: is it enabled, and does the NATS cluster have a leader?)";
  return new JetStreamSetupError(`${what} not set up: ${answer}${hint}`, { cause: err });
}

/**
 * Runs an idempotent setup step again when JetStream did not answer (a timeout, not a
 * refusal): a stream just given more copies elects its leader, and requests made meanwhile
 * may get no answer at all; so may those on a cluster that just lost a server. A refusal
 * is final.
 */
async function answered<T>(step: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (err) {
      if (err instanceof JetStreamApiError || attempt >= setupAttempts) throw err;
    }
  }
}

/** Tries of a setup step JetStream does not answer, each waiting the client's request timeout (5 s). */
const setupAttempts = 4;

/** True when `current` already has every setting of `wanted` (arrays compared item by item). */
function hasSettings(current: StreamConfig, wanted: Partial<StreamConfig>): boolean {
  return Object.entries(wanted).every(([key, value]) => {
    const have: unknown = current[key as keyof StreamConfig];
    return Array.isArray(value) && Array.isArray(have) ? value.length === have.length && value.every((v, i) => v === have[i]) : have === value;
  });
}

/** Raises an existing stream to `replicas` copies when it has fewer (and reports it); never lowers it. */
async function raise(jsm: JetStreamManager, info: StreamInfo, replicas: number, replication: JetStreamReplication | undefined): Promise<void> {
  const had = info.config.num_replicas || 1;
  if (had >= replicas) return;
  await answered(() => jsm.streams.update(info.config.name, { num_replicas: replicas }));
  replication?.onRaised?.({ stream: info.config.name, from: had, to: replicas });
}

/**
 * Creates the stream, or updates an existing one to `config`, with the replicas asked for:
 * an existing stream with fewer is raised (and reported), one with more keeps them; one that
 * has all of it already is left alone. Fails with a JetStreamSetupError naming the stream
 * when the server refuses.
 */
export async function ensureStream(
  nc: NatsConnection,
  config: Partial<StreamConfig> & { readonly name: string },
  replication: JetStreamReplication | undefined,
): Promise<StreamInfo> {
  const replicas = replicasOf(replication);
  const what = `stream ${config.name}`;
  checkClustered(nc, replicas, what);
  try {
    const jsm = await answered(() => jetstreamManager(nc));
    const existing = await answered(() => jsm.streams.info(config.name)).catch((err: unknown) => {
      if (streamNotFound(err)) return undefined;
      throw err;
    });
    if (!existing) return await answered(() => jsm.streams.add({ ...config, num_replicas: replicas }));
    // One update: the new settings, and the replicas raised when the stream had fewer (more stay).
    const had = existing.config.num_replicas || 1;
    const wanted = { ...config, num_replicas: Math.max(had, replicas) };
    if (hasSettings(existing.config, wanted)) return existing;
    const updated = await answered(() => jsm.streams.update(config.name, wanted));
    if (had < replicas) replication?.onRaised?.({ stream: config.name, from: had, to: replicas });
    return updated;
  } catch (err) {
    throw setupError(what, replicas, err);
  }
}

/**
 * Opens a KV bucket, creating it with the replicas asked for; an existing bucket (the stream
 * KV_<bucket>) with fewer is raised and reported. Its other settings are those it was
 * created with (`opts` only shape a new bucket).
 */
export async function ensureBucket(nc: NatsConnection, bucket: string, opts: Partial<KvOptions>, replication: JetStreamReplication | undefined): Promise<KV> {
  const replicas = replicasOf(replication);
  const what = `KV bucket ${bucket}`;
  checkClustered(nc, replicas, what);
  try {
    const kv = await answered(() => new Kvm(jetstream(nc)).create(bucket, { ...opts, replicas }));
    const jsm = await answered(() => jetstreamManager(nc));
    await raise(jsm, await answered(async () => (await kv.status()).streamInfo), replicas, replication);
    return kv;
  } catch (err) {
    throw setupError(what, replicas, err);
  }
}
