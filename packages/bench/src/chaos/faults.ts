import type { LocalCluster, ServiceProcess } from "@messenger/testing";
import { seededRandom } from "../stats.js";

/** The faults the chaos scenario injects. */
export const faultKinds = ["gateway SIGKILL", "gateway SIGTERM", "router SIGKILL", "store SIGTERM", "presence SIGKILL", "nats-server restart"] as const;
export type FaultKind = (typeof faultKinds)[number];

/** One planned fault: what, when (ms after the start of the chaos), and for how long the process stays down. */
export interface PlannedFault {
  readonly kind: FaultKind;
  readonly atMs: number;
  readonly downMs: number;
  /** Which gateway, for the gateway faults. */
  readonly gateway: number;
}

/**
 * A fault every `everyMs` over `durationMs`, deterministic from `seed`: the kinds in shuffled
 * rounds (each kind once per round, so a short run still has every kind), each process down
 * 0.5–2.5 s before it is started again.
 */
export function faultSchedule(seed: number, durationMs: number, everyMs: number, gateways: number): PlannedFault[] {
  const rnd = seededRandom(seed);
  const out: PlannedFault[] = [];
  let round: FaultKind[] = [];
  for (let at = everyMs; at < durationMs; at += everyMs) {
    if (round.length === 0) {
      round = [...faultKinds];
      for (let i = round.length - 1; i > 0; i--) {
        const j = Math.floor(rnd() * (i + 1));
        [round[i], round[j]] = [round[j]!, round[i]!];
      }
    }
    out.push({ kind: round.shift()!, atMs: at, downMs: 500 + Math.floor(rnd() * 2_000), gateway: Math.floor(rnd() * gateways) });
  }
  return out;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Stops a process, and starts it again on the same ports. Those came from the ephemeral
 * range, so while it was down another socket on the machine may have taken one: it is tried
 * again until that one lets go. Resolves with the attempts that found a port taken.
 */
async function bounce(p: ServiceProcess, signal: NodeJS.Signals, downMs: number): Promise<number> {
  await p.stop(signal);
  await sleep(downMs);
  for (let taken = 0; ; taken++) {
    try {
      await p.restart();
      return taken;
    } catch (err) {
      if (taken >= 40 || !String(err).includes("EADDRINUSE")) throw err;
      await sleep(250);
    }
  }
}

/**
 * Injects one fault and resolves once the process is back and listening, with the restarts
 * that found one of its ports taken meanwhile.
 */
export async function inject(cluster: LocalCluster, f: PlannedFault): Promise<number> {
  switch (f.kind) {
    case "gateway SIGKILL":
      return bounce(cluster.gateways[f.gateway]!, "SIGKILL", f.downMs);
    case "gateway SIGTERM":
      return bounce(cluster.gateways[f.gateway]!, "SIGTERM", f.downMs);
    case "router SIGKILL":
      return bounce(cluster.router, "SIGKILL", f.downMs);
    case "store SIGTERM":
      return bounce(cluster.store, "SIGTERM", f.downMs);
    case "presence SIGKILL":
      return bounce(cluster.presence, "SIGKILL", f.downMs);
    case "nats-server restart":
      await cluster.nats.restart();
      return 0;
  }
}
