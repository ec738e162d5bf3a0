// One burst of the push scenario: the sender writes one message into every group at once, and
// every recipient's device, offline, is owed one Web Push for it. Measured at the no-op push
// service (each request's arrival against its message's stored time, both this machine's
// wall clock) and on the system's /metrics; checked by message id after decryption.
import { timestampMs } from "@bufbuild/protobuf/wkt";
import type { MessengerClient } from "@messenger/sdk";
import { CpuMeter } from "../process-stats.js";
import { histogramQuantileBound, readHistogram, type HistogramReading } from "../prom-histogram.js";
import { quantile } from "../stats.js";
import { metricValue } from "../store-counters.js";
import type { WorkerProcess } from "../worker-host.js";
import type { CollectedPush } from "../workers/push-sink.js";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
export const queueToProvider = "messenger_push_queue_to_provider_seconds";

/** The push worker's counters and its queue→provider histogram, from the system's /metrics. */
interface PushCounters {
  readonly histogram: HistogramReading;
  readonly sent: number;
  readonly failed: number;
  readonly retries: number;
  readonly deadLetters: number;
  readonly removed: number;
}

async function pushCounters(httpPort: number): Promise<PushCounters> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  return {
    histogram: readHistogram(text, queueToProvider),
    sent: metricValue(text, "messenger_push_sent_total"),
    failed: metricValue(text, "messenger_push_failed_total"),
    retries: metricValue(text, "messenger_push_retries_total"),
    deadLetters: metricValue(text, "messenger_push_dead_letters_total"),
    removed: metricValue(text, "messenger_push_registrations_removed_total"),
  };
}

/** What one burst measured and found. */
export interface BurstRun {
  readonly pushes: number;
  /** Pushes per second at the no-op service, from the first send to the last push's arrival. */
  readonly rate: number;
  /** Message stored → request at the no-op service, ms, one per push that named a message of the burst. */
  readonly latenciesMs: number[];
  /** First send → the last push's arrival, ms. */
  readonly firstSendToLastPushMs: number;
  /** The burst's sends, first send → the last one stored (acknowledged to the sender), ms. */
  readonly sendsMs: number;
  /** Upper bounds of the histogram's buckets holding p50 and p99 over the burst, ms. */
  readonly histogram50: number;
  readonly histogram99: number;
  readonly histogramCount: number;
  /** Candidates owed and not pushed; pushed more than once (extra requests); requests naming no candidate or unreadable. */
  readonly missing: number;
  readonly duplicates: number;
  readonly unexpected: number;
  /** Δ of the worker's failed, retried, dead-lettered and removed counters. */
  readonly failed: number;
  readonly retries: number;
  readonly deadLetters: number;
  readonly removed: number;
  readonly sentMetric: number;
  readonly cpu: Record<string, number>;
}

/**
 * Runs one burst: one message into each group at once, then waits until the no-op service has
 * as many requests as candidates are owed (or `timeoutMs` passed), and half a second more so a
 * late duplicate would be seen. `members[g]` are the subscription indexes of group g's recipients.
 */
export async function burst(deps: {
  sender: MessengerClient;
  groups: readonly string[];
  members: readonly (readonly number[])[];
  sink: WorkerProcess;
  httpPort: number;
  pids: Record<string, number>;
  label: string;
  timeoutMs: number;
}): Promise<BurstRun> {
  const owed = deps.members.reduce((n, m) => n + m.length, 0);
  const before = await pushCounters(deps.httpPort);
  const meter = new CpuMeter(deps.pids);
  const t0 = Date.now();
  const messages = await Promise.all(deps.groups.map((g) => deps.sender.send(g, `${deps.label} ${Date.now()}`)));
  const sendsMs = Date.now() - t0;
  const deadline = Date.now() + deps.timeoutMs;
  while ((await deps.sink.request<{ count: number }>("count")).count < owed && Date.now() < deadline) await sleep(50);
  const cpu = meter.read();
  await sleep(500);
  const got = await deps.sink.request<CollectedPush[]>("collect");
  const after = await pushCounters(deps.httpPort);

  const storedAt = new Map<string, { group: number; atMs: number }>();
  for (const [g, m] of messages.entries()) storedAt.set(m.id, { group: g, atMs: m.sentAt ? timestampMs(m.sentAt) : Number.NaN });
  const owedTo = new Set<string>();
  for (const [g, m] of messages.entries()) for (const s of deps.members[g]!) owedTo.add(`${s}:${m.id}`);
  const seen = new Set<string>();
  const latenciesMs: number[] = [];
  let duplicates = 0;
  let unexpected = 0;
  for (const p of got) {
    const key = `${p.subscription}:${p.messageId}`;
    if (p.error !== undefined || !owedTo.has(key)) {
      unexpected++;
      continue;
    }
    if (seen.has(key)) {
      duplicates++;
      continue;
    }
    seen.add(key);
    latenciesMs.push(p.atMs - storedAt.get(p.messageId)!.atMs);
  }
  const lastAt = got.reduce((m, p) => Math.max(m, p.atMs), t0);
  return {
    pushes: got.length,
    rate: got.length / ((lastAt - t0) / 1000),
    latenciesMs,
    firstSendToLastPushMs: lastAt - t0,
    sendsMs,
    histogram50: 1000 * histogramQuantileBound(before.histogram, after.histogram, 0.5),
    histogram99: 1000 * histogramQuantileBound(before.histogram, after.histogram, 0.99),
    histogramCount: after.histogram.count - before.histogram.count,
    missing: owed - seen.size,
    duplicates,
    unexpected,
    failed: after.failed - before.failed,
    retries: after.retries - before.retries,
    deadLetters: after.deadLetters - before.deadLetters,
    removed: after.removed - before.removed,
    sentMetric: after.sent - before.sent,
    cpu,
  };
}

/** One line for the log. */
export function describeBurst(r: BurstRun): string {
  const fmt = (x: number): string => x.toFixed(0);
  return (
    `${r.pushes} pushes, ${fmt(r.rate)}/s; stored→push p50 ${fmt(quantile(r.latenciesMs, 0.5))} ms p99 ${fmt(quantile(r.latenciesMs, 0.99))} ms max ${fmt(Math.max(...r.latenciesMs))} ms; ` +
    `first send→last push ${fmt(r.firstSendToLastPushMs)} ms (sends stored in ${fmt(r.sendsMs)} ms); histogram p50 ≤ ${fmt(r.histogram50)} ms p99 ≤ ${fmt(r.histogram99)} ms (${r.histogramCount} observed, sent_total +${r.sentMetric}); ` +
    `missing ${r.missing}, duplicates ${r.duplicates}, unexpected ${r.unexpected}, failed ${r.failed}, retries ${r.retries}, dead letters ${r.deadLetters}, removed ${r.removed}; ` +
    `CPU ${Object.entries(r.cpu).map(([k, v]) => `${k} ${fmt(v)}%`).join(", ")}`
  );
}
