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
  /** Told of watch failures and skipped entries (the registry carries on). */
  readonly onError?: (err: unknown, what: string) => void;
}

interface Mirror<T> {
  readonly values: Map<string, { value: T; revision: number }>;
  /**
   * Resolves once every change up to the bucket's current last revision has been applied,
   * or after `timeoutMs` (NATS unreachable): the read then goes on with what it has.
   */
  catchUp(timeoutMs: number): Promise<void>;
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
 * A watch that ends or fails is started again, with a fresh snapshot.
 */
async function mirror<T>(
  kv: KV,
  decode: (e: KvEntry) => T,
  opts: { delayMs: number; onChange?: (before: T | undefined, after: T | undefined) => void; onError: (err: unknown, what: string) => void },
): Promise<Mirror<T>> {
  const values = new Map<string, { value: T; revision: number }>();
  let applied = 0;
  let stopped = false;
  let watch: Awaited<ReturnType<KV["watch"]>> | undefined;
  let waiters: { revision: number; resolve: () => void }[] = [];
  const advance = (revision: number): void => {
    if (revision <= applied) return;
    applied = revision;
    if (waiters.length === 0) return;
    const ready = waiters.filter((w) => w.revision <= applied);
    waiters = waiters.filter((w) => w.revision > applied);
    for (const w of ready) w.resolve();
  };
  const set = (key: string, value: T, revision: number): void => {
    const current = values.get(key);
    values.set(key, { value, revision });
    opts.onChange?.(current?.value, value);
  };
  const drop = (key: string): void => {
    const current = values.get(key);
    if (!current) return;
    values.delete(key);
    opts.onChange?.(current.value, undefined);
  };
  /** Applies a watched change; only the watch, which brings revisions in order, advances. */
  const apply = (e: KvEntry): void => {
    const current = values.get(e.key);
    if (!current || current.revision < e.revision) {
      if (e.operation !== "PUT") drop(e.key);
      else {
        try {
          set(e.key, decode(e), e.revision);
        } catch (err) {
          opts.onError(err, `undecodable registry entry ${e.key} skipped`);
        }
      }
    }
    advance(e.revision);
  };
  const start = async (): Promise<void> => {
    const w = await kv.watch({ include: KvWatchInclude.UpdatesOnly });
    watch = w;
    void (async () => {
      for await (const e of w) {
        if (opts.delayMs > 0) setTimeout(() => apply(e), opts.delayMs);
        else apply(e);
      }
    })()
      .catch((err: unknown) => opts.onError(err, "registry watch failed"))
      .finally(() => {
        if (stopped || watch !== w) return;
        opts.onError(undefined, "registry watch ended; starting it again");
        setTimeout(() => void start().catch((err: unknown) => opts.onError(err, "registry watch restart failed")), 250);
      });
    // Everything up to this revision is either in the snapshot read below or brought by the
    // watch. Snapshot entries do not advance the mirror: a key read late may be newer than
    // watched changes still on their way.
    const atStart = await lastRevision(kv);
    const seen = new Set<string>();
    for await (const key of await kv.keys()) {
      seen.add(key);
      const e = await kv.get(key);
      const current = values.get(key);
      if (!e || (current && current.revision >= e.revision)) continue;
      try {
        set(key, decode(e), e.revision);
      } catch (err) {
        opts.onError(err, `undecodable registry entry ${key} skipped`);
      }
    }
    // After a restart, keys deleted meanwhile are gone from the snapshot.
    for (const key of [...values.keys()]) if (!seen.has(key) && (values.get(key)?.revision ?? 0) <= atStart) drop(key);
    advance(atStart);
  };
  await start();

  // Reads that start while a revision request is still unsent share it; one sent later
  // serves only later reads, so a shared answer is never older than any read it serves.
  let next: Promise<number> | undefined;
  const target = (): Promise<number> => {
    next ??= (async () => {
      await Promise.resolve();
      next = undefined;
      return lastRevision(kv);
    })();
    return next;
  };
  const catchUp = async (timeoutMs: number): Promise<void> => {
    let timer: NodeJS.Timeout | undefined;
    let waiter: { revision: number; resolve: () => void } | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    const reached = (async () => {
      const revision = await target();
      if (revision <= applied) return;
      await new Promise<void>((resolve) => waiters.push((waiter = { revision, resolve })));
    })();
    try {
      await Promise.race([reached, timeout]);
    } finally {
      clearTimeout(timer);
      if (waiter) waiters = waiters.filter((w) => w !== waiter);
    }
  };
  return {
    values,
    catchUp,
    stop: () => {
      stopped = true;
      watch?.stop();
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
  const onError = opts.onError ?? (() => {});
  const sessionMirror = await mirror(sessions, (e) => fromBinary(SessionEntrySchema, e.value), { delayMs, onChange: index, onError });
  const setLocal = (entry: SessionEntry | undefined, sessionId: string): void => {
    const before = sessionMirror.values.get(sessionId)?.value;
    if (entry) sessionMirror.values.set(sessionId, { value: entry, revision: 0 });
    else sessionMirror.values.delete(sessionId);
    index(before, entry);
  };
  const leaseMirror = await mirror(leases, (e) => fromBinary(GatewayLeaseSchema, e.value), { delayMs, onError });

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
  /** The sessions mirror caught up; past the timeout (NATS unreachable) the read goes on with what it has. */
  const catchUp = (): Promise<void> => sessionMirror.catchUp(catchUpTimeoutMs);
  /**
   * For reads: a gateway whose lease this process has not seen yet counts as alive. Its
   * lease is written before its first session, so a session whose gateway is unknown here is
   * one the lease watch has not brought yet, not a dead one; leases need no catch-up of
   * their own (one request per read instead of two). A lease seen and lapsed is dead.
   */
  const leaseAliveOrUnknown = (gatewayId: string, now: number): boolean => !leaseMirror.values.has(gatewayId) || leaseAlive(gatewayId, now);

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
          if (value && leaseAliveOrUnknown(value.gatewayId, now)) out.push(toRecord(value));
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
