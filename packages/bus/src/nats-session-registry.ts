import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { NatsConnection } from "@nats-io/transport-node";
import { jetstream } from "@nats-io/jetstream";
import { Kvm, KvWatchInclude, type KV, type KvEntry } from "@nats-io/kv";
import { GatewayLeaseSchema, SessionEntrySchema, type SessionEntry } from "@messenger/proto/bus/v1/events";
import type { SessionRecord, SessionRegistry } from "./session-registry.js";

/** Names of the KV buckets the registry uses. */
export const registryBuckets = { sessions: "messenger_sessions", leases: "messenger_gateway_leases" } as const;

interface Mirror<T> {
  readonly values: Map<string, { value: T; revision: number }>;
  stop(): void;
}

/**
 * Keeps an in-memory copy of a bucket: an updates-only watch is started first, then the
 * snapshot is read, and every change is applied by revision, so none is lost in between.
 */
async function mirror<T>(kv: KV, decode: (e: KvEntry) => T, onChange: (before: T | undefined, after: T | undefined) => void = () => {}): Promise<Mirror<T>> {
  const values = new Map<string, { value: T; revision: number }>();
  const apply = (e: KvEntry): void => {
    const current = values.get(e.key);
    if (current && current.revision >= e.revision) return;
    if (e.operation === "PUT") {
      const value = decode(e);
      values.set(e.key, { value, revision: e.revision });
      onChange(current?.value, value);
    } else if (current) {
      values.delete(e.key);
      onChange(current.value, undefined);
    }
  };
  const watch = await kv.watch({ include: KvWatchInclude.UpdatesOnly });
  void (async () => {
    for await (const e of watch) apply(e);
  })();
  for await (const key of await kv.keys()) {
    const e = await kv.get(key);
    if (e) apply(e);
  }
  return { values, stop: () => watch.stop() };
}

/**
 * The session registry on NATS KV (server 2.9: bucket-level TTL only). Sessions live in one
 * bucket without TTL; each gateway keeps a lease in a second bucket whose max age is the TTL
 * and which it renews every heartbeat, one write per gateway rather than per session. A
 * session counts only while its gateway's lease holds, so the sessions of a gateway that
 * died without draining vanish within the TTL. Reads come from a local mirror kept by watches.
 */
export async function createNatsSessionRegistry(nc: NatsConnection, opts: { ttlMs: number }): Promise<SessionRegistry> {
  const kvm = new Kvm(jetstream(nc));
  const sessions = await kvm.create(registryBuckets.sessions, { history: 1 });
  const leases = await kvm.create(registryBuckets.leases, { history: 1, ttl: opts.ttlMs });
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
  const sessionMirror = await mirror(sessions, (e) => fromBinary(SessionEntrySchema, e.value), index);
  const setLocal = (entry: SessionEntry | undefined, sessionId: string): void => {
    const before = sessionMirror.values.get(sessionId)?.value;
    if (entry) sessionMirror.values.set(sessionId, { value: entry, revision: 0 });
    else sessionMirror.values.delete(sessionId);
    index(before, entry);
  };
  const leaseMirror = await mirror(leases, (e) => fromBinary(GatewayLeaseSchema, e.value));

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
