import { CpuMeter } from "../process-stats.js";
import type { PresenceRig } from "./presence-rig.js";
import { drained, nextMacrotask, until } from "./waits.js";

/** What one throughput round measured. */
export interface ThroughputResult {
  /** Status changes made (each user once offline, once back online). */
  readonly changes: number;
  /** From the first change until the last presence frame reached its gateway subject. */
  readonly seconds: number;
  /** Presence frames delivered to the fake gateways (one per recipient). */
  readonly frames: number;
  /** The tracker's own count of frames sent; must equal `frames`. */
  readonly framesSent: number;
  readonly announcements: number;
  /** CPU% of this process over the round (100 = one core). */
  readonly cpu: number;
}

/**
 * Every user, all online, goes offline and comes back online (a reconnect), `concurrency`
 * users at a time, as gateways would report them. Without a window that is 2·N
 * announcements, and the round ends when the last frame is delivered. With one, going
 * offline is held for the window as a grace period and the reconnect inside it makes it
 * moot: no announcement at all; the round ends when the last change is processed, and
 * then waits for every window to close to count what was sent after all.
 */
export async function runThroughput(rig: PresenceRig, announceWindowMs: number, concurrency = 64): Promise<ThroughputResult> {
  const { tracker, clock } = await rig.round(announceWindowMs);
  const n = rig.graph.users;
  const meter = new CpuMeter({ bench: process.pid });
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < n; i = next++) {
        await tracker.end(rig.session(i).sessionId);
        await tracker.register(rig.session(i, 1));
      }
    }),
  );
  const processed = performance.now();
  if (announceWindowMs === 0) {
    await until(
      () => tracker.counters.announcements >= 2 * n,
      300_000,
      () => `${2 * n} announcements (${tracker.counters.announcements} so far)`,
    );
  }
  await tracker.idle();
  await nextMacrotask();
  const seconds = (Math.max(rig.recorder.lastArrival, processed) - t0) / 1000;
  const cpu = meter.read().bench!;
  // Whatever a window still holds is counted too (nothing, if the grace works).
  await drained(tracker, clock, announceWindowMs);
  const { framesSent, announcements } = tracker.counters;
  await tracker.close();
  return { changes: 2 * n, seconds, frames: rig.recorder.frames, framesSent, announcements, cpu };
}
