import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { NatsConnection } from "@nats-io/transport-node";
import { jetstream } from "@nats-io/jetstream";
import { Kvm, KvWatchInclude, type KV, type KvEntry } from "@nats-io/kv";
import { GatewayLeaseSchema, SessionEntrySchema, type SessionEntry } from "@messenger/proto/bus/v1/events";
import type { SessionRecord, SessionRegistry } from "./session-registry.js";

/** Names of the KV buckets the registry uses. */
export const registryBuckets = { sessions: "messenger_sessions", leases: "messenger_gateway_leases" } as const;

/** Options of the NATS KV session registry. */
export interface NatsSessionRegistryOptions {
  /** A gateway's sessions count only while it renewed its lease within this time. */
  readonly ttlMs: number;
  /**
   * Test hook: every change the watches bring is applied this much later, as on a slow
   * network, so tests can show that reads stay correct whatever the propagation delay.
   */
  readonly mirrorDelayMs?: number;
  /** How long a read waits for the mirror to catch up before it answers with what it has. */
  readonly catchUpTimeoutMs?: number;
}

interface Mirror<T> {
  readonly values: Map<string, { value: T; revision: number }>;
  /** Resolves once every change up to the bucket's current last revision has been applied. */
  catchUp(): Promise<void>;
  stop(): void;
}

/** The bucket's last revision (its stream's last sequence), asked of the server now. */
async function lastRevision(kv: KV): Promise<number> {
  return (await kv.status()).streamInfo.state.last_seq;
}

/**
 * Keeps an in-memory copy of a bucket: an updates-only watch is started first, then the
 * snapshot is read, and every change is applied by revision, so none is lost in between.
 * `catchUp` asks the server for the bucket's last revision and waits until the watch has
 * brought it: whatever the watch's delay, a change that completed before the call is seen.
 */
async function mirror<T>(
  kv: KV,
  decode: (e: KvEntry) => T,
  opts: { delayMs: number; onChange?: (before: T | undefined, after: T | undefined) => void },
): Promise<Mirror<T>> {
  const values = new Map<string, { value: T; revision: number }>();
  let applied = 0;
  let waiters: { revision: number; resolve: () => void }[] = [];
  const advance = (revision: number): void => {
    if (revision <= applied) return;
    applied = revision;
    if (waiters.length === 0) return;
    const ready = waiters.filter((w) => w.revision <= applied);
    waiters = waiters.filter((w) => w.revision > applied);
    for (const w of ready) w.resolve();
  };
  const apply = (e: KvEntry): void => {
    const current = values.get(e.key);
    if (!current || current.revision < e.revision) {
      if (e.operation === "PUT") {
        const value = decode(e);
        values.set(e.key, { value, revision: e.revision });
        opts.onChange?.(current?.value, value);
      } else if (current) {
        values.delete(e.key);
        opts.onChange?.(current.value, undefined);
      }
    }
    advance(e.revision);
  };
  const watch = await kv.watch({ include: KvWatchInclude.UpdatesOnly });
  void (async () => {
    for await (const e of watch) {
      if (opts.delayMs > 0) setTimeout(() => apply(e), opts.delayMs);
      else apply(e);
    }
  })();
  // Everything up to this revision is either in the snapshot read below or brought by the watch.
  const atStart = await lastRevision(kv);
  for await (const key of await kv.keys()) {
    const e = await kv.get(key);
    if (e) apply(e);
  }
  advance(atStart);

  // Reads that start while a revision request is still unsent share it; one sent later
  // serves only later reads, so a shared answer is never older than any read it serves.
  let next: Promise<void> | undefined;
  const catchUp = (): Promise<void> => {
    next ??= (async () => {
      await Promise.resolve();
      next = undefined;
      const target = await lastRevision(kv);
      if (target <= applied) return;
      await new Promise<void>((resolve) => waiters.push({ revision: target, resolve }));
    })();
    return next;
  };
  return {
    values,
    catchUp,
    stop: () => {
      watch.stop();
      for (const w of waiters) w.resolve();
      waiters = [];
    },
  };
}

/**
 * The session registry on NATS KV (server 2.9: bucket-level TTL only). Sessions live in one
 * bucket without TTL; each gateway keeps a lease in a second bucket whose max age is the TTL
 * and which it renews every heartbeat, one write per gateway rather than per session. A
 * session counts only while its gateway's lease holds, so the sessions of a gateway that
 * died without draining vanish within the TTL. Reads come from a local mirror kept by
 * watches, caught up to the server's last revision before each read (see sessionsOf).
 */
export async function createNatsSessionRegistry(nc: NatsConnection, opts: NatsSessionRegistryOptions): Promise<SessionRegistry> {
  const kvm = new Kvm(jetstream(nc));
  const sessions = await kvm.create(registryBuckets.sessions, { history: 1 });
  const leases = await kvm.create(registryBuckets.leases, { history: 1, ttl: opts.ttlMs });
  const delayMs = opts.mirrorDelayMs ?? 0;
  const catchUpTimeoutMs = opts.catchUpTimeoutMs ?? 5_000;
  const byUser = new Map<string, Set<string>>();
  const index = (before: SessionEntry | undefined, after: SessionEntry | undefined): void => {
    if (before) {
      const set = byUser.get(before.userId);
      set?.delete(before.sessionId);
      if (set?.size === 0) byUser.delete(before.userId);
    }
    if (after) {
      let set = byUser.get(after.userId);
      if (!set) byUser.set(after.userId, (set = new Set()));
      set.add(after.sessionId);
    }
  };
  const sessionMirror = await mirror(sessions, (e) => fromBinary(SessionEntrySchema, e.value), { delayMs, onChange: index });
  const setLocal = (entry: SessionEntry | undefined, sessionId: string): void => {
    const before = sessionMirror.values.get(sessionId)?.value;
    if (entry) sessionMirror.values.set(sessionId, { value: entry, revision: 0 });
    else sessionMirror.values.delete(sessionId);
    index(before, entry);
  };
  const leaseMirror = await mirror(leases, (e) => fromBinary(GatewayLeaseSchema, e.value), { delayMs });

  const leaseAlive = (gatewayId: string, now = Date.now()): boolean => {
    const lease = leaseMirror.values.get(gatewayId)?.value;
    return lease !== undefined && Number(lease.expiresAtMs) > now;
  };
  const renew = async (gatewayId: string): Promise<void> => {
    const lease = create(GatewayLeaseSchema, { gatewayId, expiresAtMs: BigInt(Date.now() + opts.ttlMs) });
    await leases.put(gatewayId, toBinary(GatewayLeaseSchema, lease));
    // Read-your-writes: the watch brings the same value a moment later.
    const current = leaseMirror.values.get(gatewayId);
    if (!current || current.value.expiresAtMs < lease.expiresAtMs) leaseMirror.values.set(gatewayId, { value: lease, revision: current?.revision ?? 0 });
  };
  const toRecord = (e: { sessionId: string; userId: string; deviceId: string; gatewayId: string }): SessionRecord => ({
    sessionId: e.sessionId,
    userId: e.userId,
    deviceId: e.deviceId,
    gatewayId: e.gatewayId,
  });
  /** Both mirrors caught up; past the timeout (NATS unreachable) the read goes on with what it has. */
  const catchUp = async (): Promise<void> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, catchUpTimeoutMs)));
    try {
      await Promise.race([Promise.all([sessionMirror.catchUp(), leaseMirror.catchUp()]), timeout]);
    } finally {
      clearTimeout(timer);
    }
  };

  return {
    async put(record) {
      if (!leaseAlive(record.gatewayId)) await renew(record.gatewayId);
      const entry = create(SessionEntrySchema, record);
      await sessions.put(record.sessionId, toBinary(SessionEntrySchema, entry));
      setLocal(entry, record.sessionId);
    },
    async refresh(gatewayId, sessionIds) {
      await renew(gatewayId);
      return sessionIds.filter((id) => sessionMirror.values.get(id)?.value.gatewayId !== gatewayId);
    },
    async remove(sessionId) {
      const entry = sessionMirror.values.get(sessionId);
      await sessions.delete(sessionId);
      setLocal(undefined, sessionId);
      return entry ? toRecord(entry.value) : undefined;
    },
    async sessionsOf(userIds) {
      await catchUp();
      const now = Date.now();
      const out: SessionRecord[] = [];
      for (const userId of userIds) {
        for (const id of byUser.get(userId) ?? []) {
          const value = sessionMirror.values.get(id)?.value;
          if (value && leaseAlive(value.gatewayId, now)) out.push(toRecord(value));
        }
      }
      return out;
    },
    async expire(now = Date.now()) {
      const dead: SessionRecord[] = [];
      for (const { value } of sessionMirror.values.values()) {
        if (!leaseAlive(value.gatewayId, now)) dead.push(toRecord(value));
      }
      for (const r of dead) {
        await sessions.delete(r.sessionId);
        setLocal(undefined, r.sessionId);
      }
      return dead;
    },
    async close() {
      sessionMirror.stop();
      leaseMirror.stop();
    },
  };
}
