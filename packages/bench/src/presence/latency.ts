import type { PresenceRig } from "./presence-rig.js";
import { nextMacrotask, until } from "./waits.js";

/** What one latency round measured, in ms. */
export interface LatencyResult {
  /** Per change: from the tracker being told until the last delivery about it reached its gateway subject. */
  readonly latencies: number[];
  /** Per announcement: the ListPresenceAudience call (direct transport, accounts, SQLite). */
  readonly lookups: number[];
  /** Per announced user: the same two queries called on the repository directly (privacy, unblockedContacts). */
  readonly queries: number[];
}

/**
 * Single changes on an otherwise quiet tracker, one after another: `samples` distinct users
 * coming online (offline before, taken out of the registry behind the tracker's back so
 * that nothing was announced). Each is the first change of its user, so a window, if any,
 * is not in the way: it measures what a window costs an ordinary change (nothing, if the
 * coalescer is right). Going offline is not timed: with a window it is announced after the
 * window on purpose (the grace period), and without one it costs what coming online does.
 */
export async function runLatency(rig: PresenceRig, announceWindowMs: number, samples: number): Promise<LatencyResult> {
  const { tracker, registry } = await rig.round(announceWindowMs);
  const n = rig.graph.users;
  const users = Array.from({ length: samples }, (_, k) => Math.floor((k * n) / samples));
  for (const i of users) await registry.remove(rig.session(i).sessionId);
  rig.recorder.reset(users.map((i) => rig.graph.ids[i]!));
  const lookups: number[] = [];
  rig.onLookup = (_user, ms) => lookups.push(ms);
  const latencies: number[] = [];
  for (const i of users) {
    const userId = rig.graph.ids[i]!;
    const t0 = performance.now();
    await tracker.register(rig.session(i, 1));
    // register does not wait for its announcement: the frame normally lands within a tick
    // (all in-process); polling only if it has not, so samples follow each other as tightly
    // as the announcements allow (an idle pause between them measures a colder process).
    await nextMacrotask();
    if (!rig.recorder.arrivals.has(userId)) await until(() => rig.recorder.arrivals.has(userId), 10_000, () => `a presence frame about user ${i}`);
    latencies.push(rig.recorder.arrivals.get(userId)! - t0);
  }
  rig.onLookup = undefined;
  await tracker.close();
  const queries: number[] = [];
  for (const i of users) {
    const t0 = performance.now();
    await rig.repo.privacy(rig.graph.ids[i]!);
    await rig.repo.unblockedContacts(rig.graph.ids[i]!);
    queries.push(performance.now() - t0);
  }
  return { latencies, lookups, queries };
}
