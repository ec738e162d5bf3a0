import { CpuMeter } from "../process-stats.js";
import type { PresenceRig } from "./presence-rig.js";
import { nextMacrotask, until } from "./waits.js";

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
 * users at a time, as gateways would report them. With a window each user's offline goes
 * out at once and the online at the end of the window: a single reconnect is not
 * coalesced (the two states differ), it is only delayed, so the round ends when all 2·N
 * announcements are out.
 */
export async function runThroughput(rig: PresenceRig, announceWindowMs: number, concurrency = 64): Promise<ThroughputResult> {
  const { tracker } = await rig.round(announceWindowMs);
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
  await until(
    () => tracker.counters.announcements >= 2 * n,
    300_000,
    () => `${2 * n} announcements (${tracker.counters.announcements} so far)`,
  );
  await tracker.idle();
  await nextMacrotask();
  const seconds = (rig.recorder.lastArrival - t0) / 1000;
  const cpu = meter.read().bench!;
  const { framesSent, announcements } = tracker.counters;
  await tracker.close();
  return { changes: 2 * n, seconds, frames: rig.recorder.frames, framesSent, announcements, cpu };
}
