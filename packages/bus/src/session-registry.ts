/** A live client session and the gateway that holds it. */
export interface SessionRecord {
  readonly sessionId: string;
  readonly userId: string;
  readonly deviceId: string;
  readonly gatewayId: string;
}

/**
 * The session registry port: which gateway holds which user's sessions. Entries live for
 * a TTL unless refreshed, so a gateway that dies without saying so drops out on its own.
 */
export interface SessionRegistry {
  put(record: SessionRecord): Promise<void>;
  /** Renews the TTL of a gateway's sessions; returns those it no longer had. */
  refresh(gatewayId: string, sessionIds: readonly string[]): Promise<string[]>;
  /** Removes a session; returns it if it was there. */
  remove(sessionId: string): Promise<SessionRecord | undefined>;
  /**
   * Every live session of the given users, including every session whose put (or remove)
   * completed, in any process, before this call began. Adapters that read a local mirror
   * first catch it up to the backing store: a router that looks recipients up after a
   * message was stored must find a session that registered before it read what it missed.
   */
  sessionsOf(userIds: readonly string[]): Promise<SessionRecord[]>;
  /** Drops entries past their TTL and returns them. */
  expire(now?: number): Promise<SessionRecord[]>;
  /** Stops background work (watches); the backing store is left as it is. */
  close(): Promise<void>;
}

/** The in-process registry of the one-process system. */
export function createMemorySessionRegistry(ttlMs: number): SessionRegistry {
  const sessions = new Map<string, { record: SessionRecord; expiresAt: number }>();
  const byUser = new Map<string, Set<string>>();
  const drop = (sessionId: string): SessionRecord | undefined => {
    const entry = sessions.get(sessionId);
    if (!entry) return undefined;
    sessions.delete(sessionId);
    const set = byUser.get(entry.record.userId);
    set?.delete(sessionId);
    if (set?.size === 0) byUser.delete(entry.record.userId);
    return entry.record;
  };
  return {
    async put(record) {
      drop(record.sessionId);
      sessions.set(record.sessionId, { record, expiresAt: Date.now() + ttlMs });
      let set = byUser.get(record.userId);
      if (!set) byUser.set(record.userId, (set = new Set()));
      set.add(record.sessionId);
    },
    async refresh(gatewayId, sessionIds) {
      const unknown: string[] = [];
      const expiresAt = Date.now() + ttlMs;
      for (const id of sessionIds) {
        const entry = sessions.get(id);
        if (entry && entry.record.gatewayId === gatewayId) entry.expiresAt = expiresAt;
        else unknown.push(id);
      }
      return unknown;
    },
    async remove(sessionId) {
      return drop(sessionId);
    },
    async sessionsOf(userIds) {
      const out: SessionRecord[] = [];
      for (const u of userIds) {
        for (const id of byUser.get(u) ?? []) {
          const entry = sessions.get(id);
          if (entry) out.push(entry.record);
        }
      }
      return out;
    },
    async expire(now = Date.now()) {
      const expired: SessionRecord[] = [];
      for (const [id, entry] of sessions) {
        if (entry.expiresAt <= now) {
          const r = drop(id);
          if (r) expired.push(r);
        }
      }
      return expired;
    },
    async close() {
      sessions.clear();
      byUser.clear();
    },
  };
}
