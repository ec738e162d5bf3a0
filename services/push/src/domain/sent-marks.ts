/**
 * Which notifications went out, shared by every worker replica, so a notification taken off
 * the queue twice (a redelivery, a second replica) goes to a device once. A send first claims
 * its key for a while; a claim another worker holds means "theirs"; an accepted send confirms
 * it for good (as long as the marks are kept), a failed one releases it. A worker that dies
 * mid-send leaves a claim that lapses, so the redelivery can send.
 */
export interface SentMarks {
  /** True when this worker may send: no one sent it and no live claim holds it. */
  claim(key: string, forMs: number): Promise<boolean>;
  confirm(key: string): Promise<void>;
  release(key: string): Promise<void>;
  close(): Promise<void>;
}

/** The marks of the one-process system: in memory, for `keepMs` after they are confirmed. */
export function createMemorySentMarks(opts: { keepMs: number; now?: () => number }): SentMarks {
  const now = opts.now ?? Date.now;
  const marks = new Map<string, { sent: boolean; until: number }>();
  let nextSweep = 0;
  /** At most once a minute: a scan per claim would make every send cost the whole day's marks. */
  const sweep = (): void => {
    const t = now();
    if (t < nextSweep) return;
    nextSweep = t + 60_000;
    for (const [k, m] of marks) if (m.until <= t) marks.delete(k);
  };
  return {
    async claim(key, forMs) {
      sweep();
      const m = marks.get(key);
      if (m && m.until > now()) return false;
      marks.set(key, { sent: false, until: now() + forMs });
      return true;
    },
    async confirm(key) {
      marks.set(key, { sent: true, until: now() + opts.keepMs });
    },
    async release(key) {
      const m = marks.get(key);
      if (m && !m.sent) marks.delete(key);
    },
    async close() {
      marks.clear();
    },
  };
}
