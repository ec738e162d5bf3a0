import type { ChaosDevice } from "./device.js";

/** Who talks in one conversation of the chaos load. */
export interface ChaosConversation {
  readonly conversationId: string;
  readonly members: readonly ChaosDevice[];
  /** The members that send into it. */
  readonly senders: readonly ChaosDevice[];
}

/** What the devices of one load generator saw, summed (plain data, sent over IPC). */
export interface ChaosTally {
  readonly devices: number;
  /** Distinct messages made. */
  readonly sent: number;
  /** Distinct messages acknowledged as stored (they have a seq). */
  readonly acknowledged: number;
  /** Message frames of acknowledged messages that reached a member other than their sender, once each. */
  readonly delivered: number;
  /** Deliveries owed: every acknowledged message to every member but its sender. */
  readonly owed: number;
  /** Owed deliveries a member never got. */
  readonly lost: number;
  readonly duplicated: number;
  readonly outOfOrder: number;
  /** Acknowledged sends whose seqs do not follow the device's order of sending. */
  readonly storedOutOfOrder: number;
  /** Send results neither stored nor retryable. */
  readonly rejected: number;
  /** Conversations the server answered with `reset` (too far behind to replay). */
  readonly resets: number;
  /** Send frames beyond each message's first. */
  readonly repeats: number;
  /** Messages refused at least once, and the repeats of those. */
  readonly pendingMessages: number;
  readonly repeatsOfPending: number;
  readonly maxResendsPerPending: number;
  readonly refusals: number;
  readonly refusalsWithoutHint: number;
  readonly largestHintMs: number;
  readonly refusalsByCode: Record<string, number>;
  readonly streamCuts: number;
  readonly cutsByCode: Record<string, number>;
  readonly goAways: number;
  readonly reconnects: number;
  /** The longest time one device had a send pending and none acknowledged, ms. */
  readonly longestStallMs: number;
  /** When (Date.now()) the longest stall ended. */
  readonly longestStallEndedAt: number;
  /** Sends still unacknowledged. */
  readonly stillPending: number;
}

const addCodes = (into: Record<string, number>, from: Readonly<Record<string | number, number>>): void => {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
};

/** Tallies devices and their conversations: the audit, once the load has settled. */
export function tally(devices: readonly ChaosDevice[], conversations: readonly ChaosConversation[]): ChaosTally {
  let delivered = 0;
  let owed = 0;
  for (const c of conversations) {
    const bySender = c.senders.map((s) => ({ s, seqs: s.acked.filter((a) => a.conversationId === c.conversationId).map((a) => a.seq) }));
    for (const m of c.members) {
      for (const { s, seqs } of bySender) {
        if (s === m) continue;
        owed += seqs.length;
        delivered += seqs.filter((seq) => m.holds(c.conversationId, seq)).length;
      }
    }
  }
  const refusalsByCode: Record<string, number> = {};
  const cutsByCode: Record<string, number> = {};
  let storedOutOfOrder = 0;
  const sum = (f: (d: ChaosDevice) => number): number => devices.reduce((a, d) => a + f(d), 0);
  for (const d of devices) {
    const cost = d.meter.report();
    addCodes(refusalsByCode, cost.refusalsByCode);
    addCodes(cutsByCode, cost.cutsByCode);
    const last = new Map<string, number>();
    for (const a of [...d.acked].sort((x, y) => x.index - y.index)) {
      if (a.seq <= (last.get(a.conversationId) ?? 0)) storedOutOfOrder++;
      last.set(a.conversationId, a.seq);
    }
  }
  const reports = devices.map((d) => d.meter.report());
  const rsum = (f: (r: (typeof reports)[number]) => number): number => reports.reduce((a, r) => a + f(r), 0);
  return {
    devices: devices.length,
    sent: rsum((r) => r.messages),
    acknowledged: sum((d) => d.acked.length),
    delivered,
    owed,
    lost: owed - delivered,
    duplicated: sum((d) => d.duplicates),
    outOfOrder: sum((d) => d.outOfOrder),
    storedOutOfOrder,
    rejected: sum((d) => d.rejected.length),
    resets: sum((d) => d.resets),
    repeats: rsum((r) => r.repeats),
    pendingMessages: rsum((r) => r.pendingMessages),
    repeatsOfPending: rsum((r) => r.resendsPerPending.mean * r.pendingMessages),
    maxResendsPerPending: Math.max(0, ...reports.map((r) => r.resendsPerPending.max)),
    refusals: rsum((r) => r.refusals),
    refusalsWithoutHint: rsum((r) => r.refusalsWithoutHint),
    largestHintMs: Math.max(0, ...devices.map((d) => d.largestHintMs)),
    refusalsByCode,
    streamCuts: rsum((r) => r.streamCuts),
    cutsByCode,
    goAways: rsum((r) => r.goAways),
    reconnects: sum((d) => d.reconnects),
    longestStallMs: Math.max(0, ...devices.map((d) => d.stallMs())),
    longestStallEndedAt: devices.reduce((best, d) => (d.stallMs() > best.ms ? { ms: d.stallMs(), at: d.longestStallEndedAt } : best), { ms: -1, at: 0 }).at,
    stillPending: sum((d) => d.pendingCount),
  };
}

/** The tallies of several load generators as one. */
export function mergeTallies(tallies: readonly ChaosTally[]): ChaosTally {
  const sum = (f: (t: ChaosTally) => number): number => tallies.reduce((a, t) => a + f(t), 0);
  const max = (f: (t: ChaosTally) => number): number => Math.max(0, ...tallies.map(f));
  const codes = (f: (t: ChaosTally) => Record<string, number>): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const t of tallies) addCodes(out, f(t));
    return out;
  };
  return {
    devices: sum((t) => t.devices),
    sent: sum((t) => t.sent),
    acknowledged: sum((t) => t.acknowledged),
    delivered: sum((t) => t.delivered),
    owed: sum((t) => t.owed),
    lost: sum((t) => t.lost),
    duplicated: sum((t) => t.duplicated),
    outOfOrder: sum((t) => t.outOfOrder),
    storedOutOfOrder: sum((t) => t.storedOutOfOrder),
    rejected: sum((t) => t.rejected),
    resets: sum((t) => t.resets),
    repeats: sum((t) => t.repeats),
    pendingMessages: sum((t) => t.pendingMessages),
    repeatsOfPending: sum((t) => t.repeatsOfPending),
    maxResendsPerPending: max((t) => t.maxResendsPerPending),
    refusals: sum((t) => t.refusals),
    refusalsWithoutHint: sum((t) => t.refusalsWithoutHint),
    largestHintMs: max((t) => t.largestHintMs),
    refusalsByCode: codes((t) => t.refusalsByCode),
    streamCuts: sum((t) => t.streamCuts),
    cutsByCode: codes((t) => t.cutsByCode),
    goAways: sum((t) => t.goAways),
    reconnects: sum((t) => t.reconnects),
    longestStallMs: max((t) => t.longestStallMs),
    longestStallEndedAt: tallies.reduce((best, t) => (t.longestStallMs > best.longestStallMs ? t : best), tallies[0]!).longestStallEndedAt,
    stillPending: sum((t) => t.stillPending),
  };
}
