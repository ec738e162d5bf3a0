import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { NatsConnection } from "@nats-io/transport-node";
import { GatewayLeaseSchema, SessionEntrySchema, type GatewayLease, type SessionEntry } from "@messenger/proto/bus/v1/events";
import { ensureBucket, type JetStreamReplication } from "./jetstream-replicas.js";
import { purgeOldDeletes } from "./kv-purge-deletes.js";
import { mirrorBucket } from "./kv-mirror.js";
import { readBucket } from "./kv-snapshot.js";
import { lostRace } from "./lost-race.js";
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
  /** Copies of both buckets on the NATS cluster's servers (existing buckets with fewer are raised). */
  readonly replication?: JetStreamReplication;
  /** The periodic purge of removed sessions' delete markers. */
  readonly deleteMarkers?: DeleteMarkerPurge;
}

/** Sessions deleted at once when a dead gateway's thousands of sessions expire together. */
const deletesAtOnce = 64;

/**
 * How the registry purges the delete markers that removed sessions leave in their bucket
 * (see purgeOldDeletes): every replica does it, which is safe and costs one pass each.
 */
export interface DeleteMarkerPurge {
  /** Time between two purges; the first comes one interval after the start. @default 600_000 (10 min) */
  readonly everyMs?: number;
  /**
   * Only markers older than this are purged. It must stay far above how late a mirror's
   * watch may bring a change: a marker purged before a mirror saw it leaves that mirror
   * holding the removed session. @default 1_800_000 (30 min)
   */
  readonly olderThanMs?: number;
  /** Told how many markers each purge removed. */
  readonly onPurged?: (purged: number) => void;
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
  const sessions = await ensureBucket(nc, registryBuckets.sessions, { history: 1 }, opts.replication);
  const leases = await ensureBucket(nc, registryBuckets.leases, { history: 1, ttl: opts.ttlMs }, opts.replication);
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
  const sessionMirror = await mirrorBucket(sessions, (value) => fromBinary(SessionEntrySchema, value), {
    snapshot: (upTo, onEntry) => readBucket(nc, registryBuckets.sessions, upTo, onEntry),
    delayMs,
    onChange: index,
    onError,
  });
  /** Read-your-writes: applies this process's own write at once (the watch brings it later, and skips it by revision). */
  const setLocal = (sessionId: string, write: { entry: SessionEntry; revision: number } | undefined): void => {
    const current = sessionMirror.values.get(sessionId);
    if (write && current && current.revision > write.revision) return;
    if (write) sessionMirror.values.set(sessionId, { value: write.entry, revision: write.revision });
    else sessionMirror.values.delete(sessionId);
    index(current?.value, write?.entry);
  };
  const leaseMirror = await mirrorBucket(leases, (value) => fromBinary(GatewayLeaseSchema, value), {
    snapshot: (upTo, onEntry) => readBucket(nc, registryBuckets.leases, upTo, onEntry),
    delayMs,
    onError,
  });

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

  /**
   * Deletes a session only if it is still at `revision`: of several replicas removing or
   * expiring the same session at once, exactly one wins, and only the winner reports it
   * (one last-seen write, one announcement). False when another writer changed it first.
   */
  const claim = async (sessionId: string, revision: number): Promise<boolean> => {
    try {
      await sessions.delete(sessionId, { previousSeq: revision });
    } catch (err) {
      if (lostRace(err)) return false;
      throw err;
    }
    setLocal(sessionId, undefined);
    return true;
  };
  /** The session as the server holds it now (the mirror may not have it yet, or be behind). */
  const serverEntry = async (sessionId: string): Promise<{ value: SessionEntry; revision: number } | "undecodable" | undefined> => {
    const e = await sessions.get(sessionId);
    if (!e || e.operation !== "PUT") return undefined;
    try {
      return { value: fromBinary(SessionEntrySchema, e.value), revision: e.revision };
    } catch {
      return "undecodable";
    }
  };
  /**
   * The gateways among `gatewayIds` whose lease has lapsed on the server. The mirror only
   * nominates them: a lease it has not seen yet, or a renewal still on its way, must not
   * cost a live gateway its sessions. A lease found alive is applied to the mirror.
   */
  const deadOnServer = async (gatewayIds: Iterable<string>, now: number): Promise<Set<string>> => {
    const dead = new Set<string>();
    await Promise.all(
      [...gatewayIds].map(async (gatewayId) => {
        const e = await leases.get(gatewayId);
        let lease: GatewayLease | undefined;
        try {
          lease = e && e.operation === "PUT" ? fromBinary(GatewayLeaseSchema, e.value) : undefined;
        } catch (err) {
          onError(err, `undecodable lease of ${gatewayId}: its sessions expire`);
        }
        if (e && lease && Number(lease.expiresAtMs) > now) {
          const current = leaseMirror.values.get(gatewayId);
          if (!current || current.revision < e.revision) leaseMirror.values.set(gatewayId, { value: lease, revision: e.revision });
        } else dead.add(gatewayId);
      }),
    );
    return dead;
  };

  const purge = schedulePurges(nc, opts.deleteMarkers ?? {}, onError);
  return {
    async put(record) {
      if (!leaseAlive(record.gatewayId)) await renew(record.gatewayId);
      const entry = create(SessionEntrySchema, record);
      const revision = await sessions.put(record.sessionId, toBinary(SessionEntrySchema, entry));
      setLocal(record.sessionId, { entry, revision });
    },
    async refresh(gatewayId, sessionIds) {
      await renew(gatewayId);
      return sessionIds.filter((id) => sessionMirror.values.get(id)?.value.gatewayId !== gatewayId);
    },
    async remove(sessionId) {
      // The mirror's revision first (no extra round trip); when it is missing or stale, the
      // server's. A lost claim re-reads: either another replica removed it (gone now) or it
      // was registered again meanwhile (then it is this call's to remove).
      let current: { value: SessionEntry; revision: number } | "undecodable" | undefined = sessionMirror.values.get(sessionId);
      for (let attempt = 0; ; attempt++) {
        current ??= await serverEntry(sessionId);
        if (current === undefined) {
          setLocal(sessionId, undefined);
          return undefined;
        }
        if (current === "undecodable") {
          await sessions.delete(sessionId);
          setLocal(sessionId, undefined);
          return undefined;
        }
        if (await claim(sessionId, current.revision)) return toRecord(current.value);
        if (attempt >= 10) throw new Error(`session ${sessionId} not removed: too many concurrent writers`);
        current = undefined;
      }
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
      const suspects = [...sessionMirror.values.entries()].filter(([, { value }]) => !leaseAlive(value.gatewayId, now));
      if (suspects.length === 0) return [];
      const dead = await deadOnServer(new Set(suspects.map(([, { value }]) => value.gatewayId)), now);
      const claimable = suspects.filter(([, { value }]) => dead.has(value.gatewayId));
      // Every replica sweeps: each session is claimed by one of them, which alone reports it.
      const won: SessionRecord[] = [];
      for (let i = 0; i < claimable.length; i += deletesAtOnce) {
        await Promise.all(
          claimable.slice(i, i + deletesAtOnce).map(async ([sessionId, { value, revision }]) => {
            if (await claim(sessionId, revision)) won.push(toRecord(value));
          }),
        );
      }
      return won;
    },
    async close() {
      await purge.stop();
      sessionMirror.stop();
      leaseMirror.stop();
    },
  };
}

/**
 * Purges the sessions bucket's old delete markers every `everyMs`, one run at a time. A
 * failed run is told to onError and the next interval tries again; stop() ends the schedule
 * and waits for a run in progress (cut short between batches).
 */
function schedulePurges(nc: NatsConnection, purge: DeleteMarkerPurge, onError: (err: unknown, what: string) => void): { stop(): Promise<void> } {
  const everyMs = purge.everyMs ?? 600_000;
  const olderThanMs = purge.olderThanMs ?? 1_800_000;
  let stopped = false;
  let running: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  const run = async (): Promise<void> => {
    try {
      const purged = await purgeOldDeletes(nc, registryBuckets.sessions, olderThanMs, () => stopped);
      if (!stopped) purge.onPurged?.(purged);
    } catch (err) {
      if (!stopped) onError(err, `delete markers of ${registryBuckets.sessions} not purged; trying again in ${everyMs} ms`);
    }
  };
  const next = (): void => {
    timer = setTimeout(() => {
      running = run().finally(() => {
        running = undefined;
        if (!stopped) next();
      });
    }, everyMs);
    // The schedule alone must not keep a process alive.
    timer.unref();
  };
  next();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
