import { spawnSystem } from "@messenger/testing";
import { collectCpu } from "../baselines.js";
import { burst, describeBurst, queueToProvider, type BurstRun } from "../push/burst.js";
import { directRun, rawQueueRate, type DirectRun } from "../push/raw.js";
import { createGroups, createRecipients, createSender, type Subscription } from "../push/setup.js";
import type { Figure } from "../report.js";
import type { ScenarioContext } from "../scenario.js";
import { median, quantile } from "../stats.js";
import { WorkerProcess } from "../worker-host.js";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** Under LARGE_GROUP_THRESHOLD (256), so every member is a candidate for every message: no coalescing window. */
const groupSize = 100;
/** In flight in the direct baseline's second run: what the no-op service takes when the client does not wait for each answer. */
const wideConcurrency = 64;
const targetMs = 1_000;

/** Waits until the no-op service's request count has not moved for `quietMs`; returns it. */
async function settled(sink: WorkerProcess, quietMs: number): Promise<number> {
  let last = -1;
  let since = Date.now();
  for (;;) {
    const { count } = await sink.request<{ count: number }>("count");
    if (count !== last) [last, since] = [count, Date.now()];
    else if (Date.now() - since >= quietMs) return count;
    await sleep(100);
  }
}

/**
 * Push notifications: on the one-process system (a child process, SCRYPT_LOG_N=10 so that the
 * 10,000 accounts are made in seconds; everything else at its defaults), 10,000 users (quick:
 * 1,000) each with one device that logged in, registered a Web Push subscription and never
 * opened a session. Their push service is a no-op HTTP server in its own process that answers
 * 201 as soon as a request's body is in; the bodies are decrypted after each burst to check
 * which message each push named. Shape: 100 groups (quick: 10) of 100 recipients and one
 * sender, who writes one message into every group at once, so 10,000 candidates are queued
 * within the burst's sends. Groups, not one group of 10,000 (over LARGE_GROUP_THRESHOLD the
 * router coalesces a member's candidates per window, which would measure the window, not the
 * worker), and not 10,000 direct conversations (the same candidates, with 10,000 sends between
 * the first and the last queued). The worker does everything it does for a real push: the
 * user's registrations and settings from accounts, delivered marks, badge from the store, the
 * sent-mark claim, VAPID signature and aes128gcm encryption, the POST. Baselines in the same
 * run: the memory queue alone with a no-op consumer, and the no-op service driven directly
 * with a request the provider sent, by the same client (fetch), one at a time (the worker's
 * shape in this system) and 64 in flight.
 */
export async function push(ctx: ScenarioContext): Promise<Figure[]> {
  const recipients = ctx.quick ? 1_000 : 10_000;
  const groupCount = Math.ceil(recipients / groupSize);
  const sys = await spawnSystem({
    SCRYPT_LOG_N: "10",
    LOG_LEVEL: "warn",
    HEARTBEAT_INTERVAL_MS: "30000",
    // The no-op push service listens on plain http on 127.0.0.1.
    WEB_PUSH_ALLOW_HTTP: "true",
    PUSH_ALLOW_INSECURE_ENDPOINTS: "true",
  }, process.env.BENCH_PUSH_CPU_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_PUSH_CPU_PROF}`] : []);
  let serverTail = "";
  let stopping = false;
  sys.child.stderr?.on("data", (d: Buffer) => (serverTail = (serverTail + d.toString()).slice(-4000)));
  sys.child.once("exit", (code, signal) => {
    if (!stopping) ctx.log(`server exited (${code ?? signal}) during the push scenario: ${serverTail.trim() || "nothing on stderr"}`);
  });
  const sink = WorkerProcess.start("push service", "push-sink");
  const direct = WorkerProcess.start("client", "push-direct");
  let sender: Awaited<ReturnType<typeof createSender>> | undefined;
  try {
    const { origin } = await sink.request<{ origin: string }>("listen");
    const subscriptions = await sink.request<Subscription[]>("subscribe", { origin, count: recipients });
    const prefix = `p${Date.now() % 1e7}u`;
    let t = Date.now();
    const ids = await createRecipients(sys.grpcUrl, prefix, subscriptions);
    ctx.log(`push: ${ids.length} users registered, logged in and subscribed in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    t = Date.now();
    sender = await createSender(sys.grpcUrl, `${prefix}sender`);
    const groups = await createGroups(sender, ids, groupSize);
    const members = groups.map((_, g) => Array.from({ length: Math.min(groupSize, recipients - g * groupSize) }, (_, i) => g * groupSize + i));
    // Each group's first message (group_created) is owed to its members as well: the warm-up.
    const warm = await settled(sink, 2_000);
    await sink.request("reset");
    ctx.log(`push: ${groups.length} groups of ${groupSize} created; ${warm} group_created pushes drained in ${((Date.now() - t) / 1000).toFixed(1)} s (warm-up, not measured)`);

    const pids = { server: sys.child.pid!, "push service": sink.pid };
    const runs: BurstRun[] = [];
    for (let r = 0; r < ctx.rounds; r++) {
      const run = await burst({ sender, groups, members, sink, httpPort: sys.httpPort, pids, label: `burst ${r + 1}`, timeoutMs: 30_000 + recipients * 10 });
      runs.push(run);
      ctx.log(`push burst ${r + 1}: ${describeBurst(run)}`);
    }
    // Everyday load: one message into one group of offline members at a time, each waited for.
    const single: number[][] = [];
    for (let r = 0; r < ctx.rounds; r++) {
      const latencies: number[] = [];
      for (let g = 0; g < Math.min(groups.length, 10); g++) {
        const one = await burst({ sender, groups: [groups[g]!], members: [members[g]!], sink, httpPort: sys.httpPort, pids, label: `one group ${g + 1}`, timeoutMs: 30_000 });
        latencies.push(...one.latenciesMs);
      }
      single.push(latencies);
      ctx.log(`push one group at a time, round ${r + 1}: stored→push p50 ${quantile(latencies, 0.5).toFixed(0)} ms p99 ${quantile(latencies, 0.99).toFixed(0)} ms over ${latencies.length} pushes`);
    }
    // The very request the provider sent for a burst's message, for the direct baseline to replay.
    const sample = await sink.request<{ headers: Record<string, string>; body: string }>("sample");

    const queueRates: number[] = [];
    const narrow: DirectRun[] = [];
    const wide: DirectRun[] = [];
    for (let r = 0; r < ctx.rounds; r++) {
      queueRates.push(await rawQueueRate(recipients));
      narrow.push(await directRun({ direct, sink, endpoint: subscriptions[0]!.endpoint, sample, requests: Math.min(recipients, 5_000), concurrency: 1 }));
      wide.push(await directRun({ direct, sink, endpoint: subscriptions[0]!.endpoint, sample, requests: recipients, concurrency: wideConcurrency }));
      ctx.log(
        `push raw round ${r + 1}: memory queue ${queueRates.at(-1)!.toFixed(0)} candidates/s; no-op service direct, 1 in flight ${narrow.at(-1)!.rate.toFixed(0)}/s (p50 ${quantile(narrow.at(-1)!.latenciesMs, 0.5).toFixed(2)} ms), ` +
          `${wideConcurrency} in flight ${wide.at(-1)!.rate.toFixed(0)}/s (p50 ${quantile(wide.at(-1)!.latenciesMs, 0.5).toFixed(2)} ms); failed ${narrow.at(-1)!.failed + wide.at(-1)!.failed}`,
      );
    }

    const scenario = "push";
    const cpu = collectCpu(runs.map((w) => ({ value: 0, cpu: w.cpu })));
    const narrowRate = median(narrow.map((d) => d.rate));
    const load = `${recipients.toLocaleString("en-US")} offline Web Push devices, ${groupCount} groups of ${groupSize}, 1 message each at once`;
    const figures: Figure[] = [
      { scenario, name: `raw memory queue: ${recipients.toLocaleString("en-US")} candidates published at once, no-op consumer`, unit: "candidates/s", rounds: queueRates, cpu: {}, note: "in the bench process" },
      { scenario, name: "raw no-op push service: fetch replaying a provider's request, 1 in flight", unit: "req/s", rounds: narrow.map((d) => d.rate), cpu: collectCpu(narrow.map((d) => ({ value: d.rate, cpu: d.cpu }))) },
      { scenario, name: "raw no-op push service: request latency, 1 in flight", unit: "ms", rounds: narrow.map((d) => quantile(d.latenciesMs, 0.5)), cpu: {}, note: "p50" },
      { scenario, name: `raw no-op push service: fetch replaying a provider's request, ${wideConcurrency} in flight`, unit: "req/s", rounds: wide.map((d) => d.rate), cpu: collectCpu(wide.map((d) => ({ value: d.rate, cpu: d.cpu }))) },
      { scenario, name: `${load}: pushes accepted by the push service`, unit: "/s", rounds: runs.map((w) => w.rate), cpu, baseline: { name: "raw, 1 in flight", value: narrowRate }, note: "pushes / (first send → last push)" },
      { scenario, name: `${load}: message stored → push at the service p50`, unit: "ms", rounds: runs.map((w) => quantile(w.latenciesMs, 0.5)), cpu: {}, note: "the request's arrival at the no-op service − the message's sent_at" },
      { scenario, name: `${load}: message stored → push at the service p99`, unit: "ms", rounds: runs.map((w) => quantile(w.latenciesMs, 0.99)), cpu: {}, note: `target ${targetMs} ms` },
      { scenario, name: `${load}: message stored → push at the service max`, unit: "ms", rounds: runs.map((w) => Math.max(...w.latenciesMs)), cpu: {} },
      { scenario, name: `${load}: pushes within ${targetMs} ms of the message being stored`, unit: "%", rounds: runs.map((w) => (100 * w.latenciesMs.filter((ms) => ms <= targetMs).length) / Math.max(1, w.latenciesMs.length)), cpu: {} },
      {
        scenario,
        name: `one message to one group of ${groupSize} offline devices at a time: stored → push p99`,
        unit: "ms",
        rounds: single.map((l) => quantile(l, 0.99)),
        cpu: {},
        note: `target ${targetMs} ms; 10 messages one after the other per round; p50 ${single.map((l) => quantile(l, 0.5).toFixed(0)).join("/")} ms`,
      },
      { scenario, name: `${load}: first send → last push`, unit: "ms", rounds: runs.map((w) => w.firstSendToLastPushMs), cpu: {}, note: `the ${groupCount} sends stored in ${runs.map((w) => w.sendsMs.toFixed(0)).join("/")} ms` },
      { scenario, name: `${load}: ${queueToProvider} p50, at most`, unit: "ms", rounds: runs.map((w) => w.histogram50), cpu: {}, note: "its bucket's upper bound; stored → provider accepted, timed in the worker" },
      { scenario, name: `${load}: ${queueToProvider} p99, at most`, unit: "ms", rounds: runs.map((w) => w.histogram99), cpu: {} },
      {
        scenario,
        name: `${load}: candidates not pushed + pushed twice + unexpected requests`,
        unit: "per round",
        rounds: runs.map((w) => w.missing + w.duplicates + w.unexpected),
        cpu: {},
        note: `must be 0; counted by subscription and decrypted message_id; ${runs.map((w) => `${w.missing}/${w.duplicates}/${w.unexpected}`).join(", ")}`,
      },
      {
        scenario,
        name: `${load}: worker failures, retries, dead letters, registrations removed`,
        unit: "per round",
        rounds: runs.map((w) => w.failed + w.retries + w.deadLetters + w.removed),
        cpu: {},
        note: `must be 0; ${runs.map((w) => `${w.failed}/${w.retries}/${w.deadLetters}/${w.removed}`).join(", ")}`,
      },
    ];
    return figures;
  } finally {
    await sender?.close();
    await Promise.all([sink.stop(), direct.stop()]);
    stopping = true;
    await sys.stop();
  }
}
