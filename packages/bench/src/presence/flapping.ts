import { timestampMs } from "@bufbuild/protobuf/wkt";
import { CpuMeter } from "../process-stats.js";
import type { PresenceRig } from "./presence-rig.js";
import { drained, nextMacrotask, sleepUntil, until } from "./waits.js";

/** How the flapping round is driven. */
export interface FlappingOptions {
  /** Users flapping at once. */
  readonly flappers: number;
  /** Time between two changes of one flapping user. */
  readonly periodMs: number;
  readonly seconds: number;
  /** Time between two probes (ordinary single changes of other users, timed). */
  readonly probeEveryMs: number;
}

/** What one flapping round measured. */
export interface FlappingResult {
  /** How long the users flapped. */
  readonly seconds: number;
  /** Changes each flapping user made per second (what the tracker was offered). */
  readonly changesPerUserSecond: number;
  /** Announcements (audience lookups) about a flapping user per second. */
  readonly announcementsPerUserSecond: number;
  /** Frames about a flapping user delivered to their contacts per second of flapping, drain included. */
  readonly framesPerUserSecond: number;
  /** From the end of the flapping until the last frame about it was delivered. */
  readonly drainSeconds: number;
  /** (flapping user, contact online throughout) pairs checked after the drain. */
  readonly checkedPairs: number;
  /** Of those, the contacts whose latest frame is not the user's true final state. */
  readonly wrongFinalStates: number;
  /** Latencies (ms) of the probes: single changes of non-flapping users during the flapping. */
  readonly probeLatencies: number[];
  /** CPU% of this process while the users flapped. */
  readonly cpu: number;
}

/**
 * `flappers` users, spread over the id space, each alternate offline/online every
 * `periodMs` for `seconds` (a change starts when the previous one returned and its time has
 * come; a tracker that falls behind slows them down, as it would slow a gateway). Meanwhile
 * other users make single changes (probes) whose latency shows what the flapping costs
 * everyone else. Afterwards, once every window has closed, each contact that stayed online
 * must hold the flapping user's true final state.
 */
export async function runFlapping(rig: PresenceRig, announceWindowMs: number, opts: FlappingOptions): Promise<FlappingResult> {
  const { tracker, clock, registry } = await rig.round(announceWindowMs);
  const n = rig.graph.users;
  const spacing = Math.floor(n / opts.flappers);
  const flappers = Array.from({ length: opts.flappers }, (_, j) => j * spacing);
  // Probes sit halfway between two flapping users: never one of them.
  const probes = flappers.map((i) => i + Math.floor(spacing / 2));
  const flapperIds = flappers.map((i) => rig.graph.ids[i]!);
  rig.recorder.reset(
    probes.map((i) => rig.graph.ids[i]!),
    flapperIds,
  );
  const flapperSet = new Set(flapperIds);
  let announcements = 0;
  rig.onLookup = (userId) => {
    if (flapperSet.has(userId)) announcements++;
  };
  let changes = 0;
  const meter = new CpuMeter({ bench: process.pid });
  const t0 = performance.now();
  const stopAt = t0 + opts.seconds * 1000;
  const flap = async (j: number): Promise<void> => {
    const i = flappers[j]!;
    let online = true;
    let generation = 0;
    // Staggered over one period, so the flapping users do not all change in the same tick.
    let at = t0 + (j / opts.flappers) * opts.periodMs;
    for (;;) {
      at = Math.max(at + opts.periodMs, performance.now());
      if (at >= stopAt) return;
      await sleepUntil(at);
      if (online) await tracker.end(rig.session(i, generation).sessionId);
      else await tracker.register(rig.session(i, ++generation));
      online = !online;
      changes++;
    }
  };
  const usedProbes: number[] = [];
  const probeLatencies: number[] = [];
  const probe = async (): Promise<void> => {
    for (const i of probes) {
      const at = t0 + (usedProbes.length + 1) * opts.probeEveryMs;
      if (at >= stopAt) return;
      await sleepUntil(at);
      usedProbes.push(i);
      // A probe comes online (it was taken out behind the tracker's back): the change that is
      // announced at once, window or not.
      await registry.remove(rig.session(i).sessionId);
      const started = performance.now();
      await tracker.register(rig.session(i, 1));
      // register does not wait for its announcement: wait for the frame itself.
      const userId = rig.graph.ids[i]!;
      await nextMacrotask();
      if (!rig.recorder.arrivals.has(userId)) await until(() => rig.recorder.arrivals.has(userId), 10_000, () => `a presence frame about probe user ${i}`);
      probeLatencies.push(rig.recorder.arrivals.get(userId)! - started);
    }
  };
  await Promise.all([...flappers.map((_, j) => flap(j)), probe()]);
  const stoppedAt = performance.now();
  const cpu = meter.read().bench!;
  await drained(tracker, clock, announceWindowMs);
  const drainSeconds = Math.max(0, (rig.recorder.lastArrival - stoppedAt) / 1000);

  const offline = new Set([...flapperIds, ...usedProbes.map((i) => rig.graph.ids[i]!)]);
  const truth = await tracker.presenceOf(flapperIds);
  let checkedPairs = 0;
  let wrongFinalStates = 0;
  for (const [j, i] of flappers.entries()) {
    const state = truth[j]!;
    const held = rig.recorder.states.get(state.userId)!;
    for (const c of rig.graph.contactsOf(i)) {
      const contactId = rig.graph.ids[c]!;
      if (offline.has(contactId)) continue;
      checkedPairs++;
      // Every contact knew the user online before the round (nothing announced means that).
      const got = held.get(contactId) ?? { online: true, lastSeenAt: undefined };
      const right = got.online === state.online && (state.online || (got.lastSeenAt !== undefined && timestampMs(got.lastSeenAt) === state.lastSeenAt));
      if (!right) wrongFinalStates++;
    }
  }
  rig.onLookup = undefined;
  await tracker.close();
  const seconds = (stoppedAt - t0) / 1000;
  const framesAboutFlappers = flapperIds.reduce((a, u) => a + (rig.recorder.framesAbout.get(u) ?? 0), 0);
  const perUserSecond = (x: number): number => x / opts.flappers / seconds;
  return {
    seconds,
    changesPerUserSecond: perUserSecond(changes),
    announcementsPerUserSecond: perUserSecond(announcements),
    framesPerUserSecond: perUserSecond(framesAboutFlappers),
    drainSeconds,
    checkedPairs,
    wrongFinalStates,
    probeLatencies,
    cpu,
  };
}
