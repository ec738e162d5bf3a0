import { startCluster } from "@messenger/testing";
import { faultSchedule, inject, type FaultKind } from "../chaos/faults.js";
import { mergeTallies, type ChaosTally } from "../chaos/tally.js";
import type { Figure } from "../report.js";
import type { ScenarioContext } from "../scenario.js";
import { WorkerProcess } from "../worker-host.js";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The load of one round: per load-generator process, its pairs and groups. */
interface ChaosLoad {
  readonly workers: number;
  readonly pairs: number;
  readonly groups: number;
  readonly groupSize: number;
  readonly groupSenders: number;
  /** Messages per second over all devices. */
  readonly perSecond: number;
  readonly chaosMs: number;
  readonly faultEveryMs: number;
}

const quickLoad: ChaosLoad = { workers: 1, pairs: 10, groups: 2, groupSize: 10, groupSenders: 3, perSecond: 20, chaosMs: 60_000, faultEveryMs: 6_000 };
// 200 users: 2 × (30 pairs + 2 groups of 20); 60 messages/s = 3,600 a minute.
const fullLoad: ChaosLoad = { workers: 2, pairs: 30, groups: 2, groupSize: 20, groupSenders: 4, perSecond: 60, chaosMs: 300_000, faultEveryMs: 10_000 };

/**
 * The fault suite as a figure: a steady load of 1:1 and group messages on the local cluster
 * (a process per service, two gateways, a real nats-server) while a seeded schedule SIGKILLs
 * and SIGTERMs gateways, the router, the store and presence and restarts nats-server. Every
 * device is a raw gRPC stream that repeats unacknowledged sends in order (retry_after_ms,
 * go_away honoured) and checks what it receives; after the load, every device resumes once
 * more and the audit counts what was acknowledged but never delivered, delivered twice or
 * out of order (all must be 0).
 */
export async function chaos(ctx: ScenarioContext): Promise<Figure[]> {
  const load = ctx.quick ? quickLoad : fullLoad;
  const rounds = ctx.quick ? 1 : Math.min(2, ctx.rounds);
  const tallies: ChaosTally[] = [];
  const faultsPerRound: Map<FaultKind, number>[] = [];
  const settleSeconds: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const cluster = await startCluster({
      gateways: 2,
      env: { SCRYPT_LOG_N: "10", LOG_LEVEL: "error", HEARTBEAT_INTERVAL_MS: "2000", SHUTDOWN_GRACE_MS: "2000", ACCESS_TOKEN_TTL_SECONDS: "3600" },
    });
    const workers = Array.from({ length: load.workers }, (_, i) => WorkerProcess.start(`chaos-${i + 1}`, "chaos-clients"));
    try {
      const urls = cluster.gatewayUrls();
      const tag = `chaos${Date.now().toString(36)}r${r}`;
      await Promise.all(workers.map((w, i) => w.request("setup", { urls, prefix: `${tag}w${i}`, ...load })));
      await Promise.all(workers.map((w) => w.request("start", { perSecond: load.perSecond / load.workers })));
      const faults = new Map<FaultKind, number>();
      const schedule = faultSchedule(1_000 + r, load.chaosMs, load.faultEveryMs, cluster.gateways.length);
      const t0 = performance.now();
      const wallStart = Date.now();
      for (const f of schedule) {
        const wait = f.atMs - (performance.now() - t0);
        if (wait > 0) await sleep(wait);
        const at = performance.now();
        const taken = await inject(cluster, f);
        faults.set(f.kind, (faults.get(f.kind) ?? 0) + 1);
        ctx.log(
          `  ${((at - t0) / 1000).toFixed(1)} s: ${f.kind}${f.kind.startsWith("gateway") ? ` gateway-${f.gateway + 1}` : ""}, back after ${((performance.now() - at) / 1000).toFixed(1)} s` +
            (taken > 0 ? ` (${taken} restarts found a port taken)` : ""),
        );
      }
      const left = load.chaosMs - (performance.now() - t0);
      if (left > 0) await sleep(left);
      await Promise.all(workers.map((w) => w.request("stopSending")));
      // Settle: every send acknowledged, then every device resumes once more and must end up
      // holding every acknowledged message of its conversations.
      const settleStart = performance.now();
      type Progress = { pending: number; missing: number; synced: number };
      const progress = async (): Promise<Progress> => {
        const ps = await Promise.all(workers.map((w) => w.request<Progress>("progress")));
        return { pending: ps.reduce((a, p) => a + p.pending, 0), missing: ps.reduce((a, p) => a + p.missing, 0), synced: ps.reduce((a, p) => a + p.synced, 0) };
      };
      const until = async (done: (p: Progress) => boolean, ms: number): Promise<Progress> => {
        const deadline = performance.now() + ms;
        for (;;) {
          const p = await progress();
          if (done(p) || performance.now() > deadline) return p;
          await sleep(100);
        }
      };
      const acked = await until((p) => p.pending === 0, 60_000);
      await Promise.all(workers.map((w) => w.request("resumeAll")));
      const devices = load.workers * (2 * load.pairs + load.groups * load.groupSize);
      const resumed = await until((p) => p.synced === devices && p.missing === 0, 30_000);
      settleSeconds.push((performance.now() - settleStart) / 1000);
      const t = mergeTallies(await Promise.all(workers.map((w) => w.request<ChaosTally>("audit"))));
      tallies.push(t);
      faultsPerRound.push(faults);
      if (acked.pending > 0 || resumed.synced < devices) ctx.log(`  settle incomplete: ${acked.pending} sends unacknowledged, ${resumed.synced}/${devices} devices resumed`);
      ctx.log(
        `chaos round ${r + 1}: ${t.devices} devices, ${t.sent} sent, ${t.acknowledged} acknowledged, ${t.delivered}/${t.owed} deliveries; ` +
          `lost ${t.lost}, duplicated ${t.duplicated}, out of order ${t.outOfOrder}, stored out of the device's order ${t.storedOutOfOrder}, rejected ${t.rejected}, resets ${t.resets}; ` +
          `${[...faults.values()].reduce((a, b) => a + b, 0)} faults; longest stall ${(t.longestStallMs / 1000).toFixed(1)} s (ended ${((t.longestStallEndedAt - wallStart) / 1000).toFixed(1)} s in); ` +
          `${t.refusals} refusals ${JSON.stringify(t.refusalsByCode)} (${t.refusalsWithoutHint} without retry_after_ms, largest ${t.largestHintMs} ms), ${t.pendingMessages} pending messages, ${t.repeats} repeats; ` +
          `${t.streamCuts} stream cuts ${JSON.stringify(t.cutsByCode)}, ${t.goAways} go_aways, ${t.reconnects} reconnects; settled in ${settleSeconds.at(-1)!.toFixed(1)} s`,
      );
      await Promise.all(workers.map((w) => w.request("close")));
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
      await cluster.stop();
    }
  }
  const perRound = (f: (t: ChaosTally) => number): number[] => tallies.map(f);
  const last = tallies.at(-1)!;
  const load0 = `${last.devices} devices: ${load.workers * load.pairs} pairs + ${load.workers * load.groups} groups of ${load.groupSize}, ${load.perSecond} msgs/s for ${load.chaosMs / 1000} s`;
  const byKind = [...(faultsPerRound.at(-1) ?? new Map<FaultKind, number>())].map(([k, n]) => `${n}× ${k}`).join(", ");
  const figure = (name: string, unit: string, rounds: number[], note?: string): Figure => ({ scenario: "chaos", name, unit, rounds, cpu: {}, ...(note ? { note } : {}) });
  return [
    figure("messages sent", "msgs", perRound((t) => t.sent), load0),
    figure("messages acknowledged (stored, with a seq)", "msgs", perRound((t) => t.acknowledged)),
    figure("deliveries to members", "msgs", perRound((t) => t.delivered), `of ${last.owed} owed (every acknowledged message to every member but its sender)`),
    figure("lost", "msgs", perRound((t) => t.lost), "acknowledged, never delivered after the final resume; must be 0"),
    figure("duplicated", "msgs", perRound((t) => t.duplicated), "a seq the device already held; must be 0"),
    figure("out of order", "msgs", perRound((t) => t.outOfOrder), "within one stream, a seq not above the last of its conversation; must be 0"),
    figure("sends stored out of the device's order", "msgs", perRound((t) => t.storedOutOfOrder), "must be 0"),
    figure("sends rejected (not retryable)", "msgs", perRound((t) => t.rejected), "must be 0"),
    figure("faults injected", "faults", faultsPerRound.map((m) => [...m.values()].reduce((a, b) => a + b, 0)), byKind),
    figure("longest time a device could not send", "s", perRound((t) => t.longestStallMs / 1000), "a send pending, none acknowledged"),
    figure("resends per pending message", "frames", perRound((t) => (t.pendingMessages > 0 ? t.repeatsOfPending / t.pendingMessages : 0)), `mean over ${last.pendingMessages} messages refused at least once; max ${last.maxResendsPerPending}; ${last.refusalsWithoutHint} refusals without retry_after_ms, largest ${last.largestHintMs} ms`),
    figure("stream cuts", "streams", perRound((t) => t.streamCuts), `by gRPC code ${JSON.stringify(last.cutsByCode)}; ${last.goAways} go_aways`),
    figure("settle: load stopped → every device resumed and caught up", "s", settleSeconds),
  ];
}
