import { runFlapping, type FlappingOptions, type FlappingResult } from "../presence/flapping.js";
import { runLatency, type LatencyResult } from "../presence/latency.js";
import { PresenceRig } from "../presence/presence-rig.js";
import { runThroughput, type ThroughputResult } from "../presence/throughput.js";
import type { Figure } from "../report.js";
import type { ScenarioContext } from "../scenario.js";
import { median, quantile } from "../stats.js";

/** The raw baseline (every change sent) and the production window of presence. */
const raw = 0;
const production = 1_000;

interface Measured {
  readonly throughput: ThroughputResult[];
  readonly flapping: FlappingResult[];
  readonly latency: LatencyResult[];
}

const fmt = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

/**
 * Presence fan-out, in-process from the real components (accounts' RelationsService on
 * SQLite behind the direct transport, PresenceTracker, in-process registry and bus, SQLite
 * last seen): throughput when every user reconnects once, users flapping on a bad network,
 * and the latency of a single change; each with the announce window at 0 (every change
 * sent: the raw baseline) and at the production 1000 ms, measured in the same run.
 */
export async function presence(ctx: ScenarioContext): Promise<Figure[]> {
  const users = ctx.quick ? 2_000 : 10_000;
  const contactsPerUser = 100;
  const gateways = 4;
  const rounds = Math.min(ctx.rounds, ctx.quick ? 2 : 3);
  const flapping: FlappingOptions = { flappers: 100, periodMs: 20, seconds: ctx.quick ? 2 : 5, probeEveryMs: 50 };
  const samples = ctx.quick ? 200 : 1_000;
  const rig = await PresenceRig.open({ users, contactsPerUser, gateways, log: ctx.log });
  const measured = new Map<number, Measured>([raw, production].map((w) => [w, { throughput: [], flapping: [], latency: [] }]));
  try {
    for (let r = 0; r < rounds; r++) {
      // Both windows in every round, so that they see the same machine and the same files;
      // which goes first alternates, so neither always runs on the heap the other left.
      const order = r % 2 === 0 ? [raw, production] : [production, raw];
      for (const w of order) {
        const m = measured.get(w)!;
        const t = await runThroughput(rig, w);
        if (t.framesSent !== t.frames) throw new Error(`presence bench: tracker sent ${t.framesSent} frames, gateways got ${t.frames}`);
        m.throughput.push(t);
        ctx.log(
          `presence round ${r + 1}, window ${w} ms: ${t.changes} changes in ${t.seconds.toFixed(2)} s = ${fmt(t.changes / t.seconds)}/s, ${t.frames} frames = ${fmt(t.frames / t.seconds)}/s, ${t.announcements} announcements, CPU ${fmt(t.cpu)}%`,
        );
        const f = await runFlapping(rig, w, flapping);
        m.flapping.push(f);
        ctx.log(
          `presence round ${r + 1}, window ${w} ms: ${flapping.flappers} flapping: ${fmt(f.changesPerUserSecond)} changes, ${fmt(f.announcementsPerUserSecond)} announcements, ${fmt(f.framesPerUserSecond)} frames per user per s; drained in ${f.drainSeconds.toFixed(2)} s; ${f.wrongFinalStates} of ${f.checkedPairs} contacts hold a wrong final state; probe p50 ${fmt(quantile(f.probeLatencies, 0.5))} ms p99 ${fmt(quantile(f.probeLatencies, 0.99))} ms (n=${f.probeLatencies.length})`,
        );
        const l = await runLatency(rig, w, samples);
        m.latency.push(l);
        ctx.log(
          `presence round ${r + 1}, window ${w} ms: single change p50 ${fmt(quantile(l.latencies, 0.5))} ms p99 ${fmt(quantile(l.latencies, 0.99))} ms; audience lookup p50 ${fmt(1000 * quantile(l.lookups, 0.5))} µs, SQL alone ${fmt(1000 * quantile(l.queries, 0.5))} µs`,
        );
      }
    }
  } finally {
    await rig.close();
  }
  return figures(measured, { users, contactsPerUser, gateways, quick: ctx.quick, flapping, samples, seeding: rig.seeding });
}

function figures(
  measured: Map<number, Measured>,
  run: { users: number; contactsPerUser: number; gateways: number; quick: boolean; flapping: FlappingOptions; samples: number; seeding: string },
): Figure[] {
  const scenario = "presence";
  const base = measured.get(raw)!;
  const coalesced = measured.get(production)!;
  const size = `${run.users / 1000}k users × ${run.contactsPerUser} contacts${run.quick ? " (quick; full run: 10k)" : ""}`;
  const flap = `${run.flapping.flappers} users flapping every ${run.flapping.periodMs} ms for ${run.flapping.seconds} s`;
  /** Two figures: the raw baseline, then the coalesced one printed against it. */
  const pair = (
    name: string,
    unit: string,
    value: (m: Measured) => number[],
    /** `compare: false` when the two windows measure different things (no ratio printed). */
    opts: { cpu?: (m: Measured) => number[]; note?: (m: Measured) => string; compare?: boolean } = {},
  ): Figure[] => {
    const rawRounds = value(base);
    const at = (m: Measured, window: string): Figure => ({
      scenario,
      name: `${name}, window ${window}`,
      unit,
      rounds: value(m),
      cpu: opts.cpu ? { bench: opts.cpu(m) } : {},
      // No ratio against a baseline of 0 (the wrong-final-state counts).
      ...(m === coalesced && opts.compare !== false && median(rawRounds) !== 0 ? { baseline: { name: "window 0", value: median(rawRounds) } } : {}),
      ...(opts.note ? { note: opts.note(m) } : {}),
    });
    return [at(base, "0 (raw)"), at(coalesced, `${production} ms`)];
  };
  const med = (xs: number[]): string => fmt(median(xs));
  return [
    ...pair(`status changes/s, each user offline then online, ${size}`, "changes/s", (m) => m.throughput.map((t) => t.changes / t.seconds), {
      // Raw: until every frame is delivered; with the window: until every change is processed.
      compare: false,
      cpu: (m) => m.throughput.map((t) => t.cpu),
      note: (m) =>
        m === base
          ? `${run.gateways} fake gateways; until the last frame is delivered; ${run.seeding}`
          : "going offline is held for the window (the grace period): a reconnect inside it is announced to nobody; until the last change is processed",
    }),
    ...pair(`presence frames delivered/s, same load`, "frames/s", (m) => m.throughput.map((t) => t.frames / t.seconds), {
      cpu: (m) => m.throughput.map((t) => t.cpu),
      note: (m) => `${med(m.throughput.map((t) => t.frames / t.changes))} frames per change (online contacts reached)`,
    }),
    ...pair(`frames per flapping user per s delivered to contacts, ${flap}`, "frames/s", (m) => m.flapping.map((f) => f.framesPerUserSecond), {
      cpu: (m) => m.flapping.map((f) => f.cpu),
      note: (m) =>
        `each made ${med(m.flapping.map((f) => f.changesPerUserSecond))} changes/s, ${med(m.flapping.map((f) => f.announcementsPerUserSecond))} announced/s; drain after ${med(m.flapping.map((f) => f.drainSeconds))} s`,
    }),
    ...pair(`contacts holding a wrong final state after flapping`, "contacts", (m) => m.flapping.map((f) => f.wrongFinalStates), {
      note: (m) => `of ${med(m.flapping.map((f) => f.checkedPairs))} (flapping user, contact online throughout) pairs; must be 0`,
    }),
    ...pair(`p50 latency of another user coming online while ${run.flapping.flappers} users flap`, "ms", (m) => m.flapping.map((f) => quantile(f.probeLatencies, 0.5)), {
      note: (m) => `${med(m.flapping.map((f) => f.probeLatencies.length))} probes per round, one every ${run.flapping.probeEveryMs} ms`,
    }),
    ...pair(`p99 latency of another user coming online while ${run.flapping.flappers} users flap`, "ms", (m) => m.flapping.map((f) => quantile(f.probeLatencies, 0.99))),
    ...pair(`p50 latency, coming online → frame on the contacts' gateway subjects, ${size}`, "ms", (m) => m.latency.map((l) => quantile(l.latencies, 0.5)), {
      note: () => `${run.samples} sequential users coming online per round, quiet tracker; to the last gateway's delivery`,
    }),
    ...pair(`p99 latency, coming online → frame on the contacts' gateway subjects`, "ms", (m) => m.latency.map((l) => quantile(l.latencies, 0.99))),
    {
      scenario,
      name: `relations lookup per announcement (ListPresenceAudience, direct transport + SQLite, ${run.contactsPerUser} contacts), p50`,
      unit: "µs",
      rounds: [...base.latency, ...coalesced.latency].map((l) => 1000 * quantile(l.lookups, 0.5)),
      cpu: {},
      baseline: { name: "the whole single change p50", value: 1000 * median([...base.latency, ...coalesced.latency].map((l) => quantile(l.latencies, 0.5))) },
      note: "rounds of both windows",
    },
    {
      scenario,
      name: `of which the audience SQL alone (repository privacy + unblockedContacts), p50`,
      unit: "µs",
      rounds: [...base.latency, ...coalesced.latency].map((l) => 1000 * quantile(l.queries, 0.5)),
      cpu: {},
      note: "same users, called on the repository directly",
    },
  ];
}
