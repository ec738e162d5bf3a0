import { spawnSystem } from "@messenger/testing";
import { collectCpu, type Round } from "../baselines.js";
import { CpuMeter, rssBytes } from "../process-stats.js";
import type { Figure } from "../report.js";
import type { ScenarioContext } from "../scenario.js";
import { median, quantile } from "../stats.js";
import { histogramQuantileBound, readHistogram, type HistogramReading } from "../prom-histogram.js";
import { metricValue } from "../store-counters.js";
import { WorkerProcess } from "../worker-host.js";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const MB = 1e6;
const histogram = "messenger_media_image_processing_seconds";

/** The image-processing histogram and the busy refusals, from /metrics. */
interface MediaCounters extends HistogramReading {
  readonly busy: number;
}

async function mediaCounters(httpPort: number): Promise<MediaCounters> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  return { ...readHistogram(text, histogram), busy: metricValue(text, "messenger_media_rejects_total", { reason: "busy" }) };
}

interface Taken {
  sent: number;
  delivered: number;
  refused: number;
  resent: number;
  failed: number;
  errors: Record<string, number>;
  totalMs: number[];
  completeMs: number[];
}

/**
 * Images: on the one-process system with the media service's image queue at its defaults
 * (2 at a time, 32 waiting), `users` users each loop upload (CreateUpload + PUT to the signed
 * URL) → CompleteUpload (sniff, strip metadata, 320 px WebP thumbnail, inline preview) → send
 * over the Session stream, one ~200 KB JPEG at a time, to a peer who is online. Compared with
 * the blob store alone in the same run: the same bodies PUT by as many clients to upload URLs
 * created beforehand.
 */
export async function media(ctx: ScenarioContext): Promise<Figure[]> {
  const seconds = ctx.quick ? 10 : 30;
  const users = 20;
  const putsPerClient = ctx.quick ? 40 : 100;
  const sys = await spawnSystem({
    SCRYPT_LOG_N: "10",
    LOG_LEVEL: "warn",
    HEARTBEAT_INTERVAL_MS: "30000",
    LOGIN_RATE_LIMIT_PER_USERNAME: "off",
    LOGIN_RATE_LIMIT_PER_ADDRESS: "off",
    REGISTER_RATE_LIMIT_PER_ADDRESS: "off",
    NEW_SESSION_RATE_LIMIT_PER_USER: "off",
    SEND_RATE_LIMIT_PER_DEVICE: "off",
    SEND_RATE_LIMIT_PER_USER: "off",
    // Every sender uploads far more than a person's day; the quota is not what is measured.
    MEDIA_DAILY_QUOTA_BYTES: String(2 ** 40),
  });
  // If the server dies mid-run, its last words say why.
  let serverTail = "";
  let stopping = false;
  sys.child.stderr?.on("data", (d: Buffer) => (serverTail = (serverTail + d.toString()).slice(-4000)));
  sys.child.once("exit", (code, signal) => {
    if (!stopping) ctx.log(`server exited (${code ?? signal}) during the media scenario: ${serverTail.trim() || "nothing on stderr"}`);
  });
  const worker = WorkerProcess.start("clients", "media-senders");
  const pids = { server: sys.child.pid!, clients: worker.pid };
  try {
    const setup = await worker.request<{ senders: number; photoBytes: number[] }>("setup", { url: sys.grpcUrl, count: users, prefix: `m${Date.now() % 1e7}`, photoCount: 4, photoBytes: 200_000 });
    const meanPhotoBytes = setup.photoBytes.reduce((a, b) => a + b, 0) / setup.photoBytes.length;
    ctx.log(`${setup.senders} senders; JPEGs of ${setup.photoBytes.map((b) => (b / 1000).toFixed(0)).join(", ")} KB (1600×1200)`);

    const putRounds: (Round & { mbps: number })[] = [];
    for (let r = 0; r < ctx.rounds; r++) {
      await worker.request("prepare", { perSender: putsPerClient });
      const meter = new CpuMeter(pids);
      const got = await worker.request<{ seconds: number; puts: number; bytes: number }>("puts");
      putRounds.push({ value: got.puts / got.seconds, mbps: got.bytes / MB / got.seconds, cpu: meter.read() });
      ctx.log(`raw PUT round ${r + 1}: ${putRounds.at(-1)!.value.toFixed(0)} PUTs/s, ${putRounds.at(-1)!.mbps.toFixed(1)} MB/s (${got.puts} in ${got.seconds.toFixed(2)} s)`);
    }

    await worker.request("start");
    // Long enough for the image queue to fill and the senders' connections to be warm.
    await sleep(1_500);
    await worker.request("take");
    const rounds: {
      rate: number;
      p50: number;
      p99: number;
      complete50: number;
      complete99: number;
      server50: number;
      server99: number;
      serverMean: number;
      refused: number;
      busy: number;
      failed: number;
      rssMB: number;
      cpu: Record<string, number>;
    }[] = [];
    for (let r = 0; r < ctx.rounds; r++) {
      const c0 = await mediaCounters(sys.httpPort);
      const meter = new CpuMeter(pids);
      const t0 = performance.now();
      let peakRss = 0;
      const sampler = setInterval(() => {
        if (sys.child.exitCode === null && sys.child.signalCode === null) peakRss = Math.max(peakRss, rssBytes(sys.child.pid!));
      }, 200);
      await sleep(seconds * 1000);
      const took = await worker.request<Taken>("take");
      const s = (performance.now() - t0) / 1000;
      const cpu = meter.read();
      clearInterval(sampler);
      peakRss = Math.max(peakRss, rssBytes(sys.child.pid!));
      const c1 = await mediaCounters(sys.httpPort);
      rounds.push({
        rate: took.sent / s,
        p50: quantile(took.totalMs, 0.5),
        p99: quantile(took.totalMs, 0.99),
        complete50: quantile(took.completeMs, 0.5),
        complete99: quantile(took.completeMs, 0.99),
        server50: 1000 * histogramQuantileBound(c0, c1, 0.5),
        server99: 1000 * histogramQuantileBound(c0, c1, 0.99),
        serverMean: (1000 * (c1.sum - c0.sum)) / (c1.count - c0.count),
        refused: took.refused,
        busy: c1.busy - c0.busy,
        failed: took.failed,
        rssMB: peakRss / 2 ** 20,
        cpu,
      });
      const w = rounds.at(-1)!;
      ctx.log(
        `images round ${r + 1}: ${w.rate.toFixed(1)} images/s (${took.sent} sent, ${took.delivered} delivered); upload→send p50 ${w.p50.toFixed(0)} ms p99 ${w.p99.toFixed(0)} ms; ` +
          `CompleteUpload p50 ${w.complete50.toFixed(0)} ms p99 ${w.complete99.toFixed(0)} ms; server processing p50 ≤ ${w.server50.toFixed(0)} ms p99 ≤ ${w.server99.toFixed(0)} ms mean ${w.serverMean.toFixed(0)} ms; ` +
          `refused ${w.refused} (busy ${w.busy}), resent ${took.resent}, failed ${w.failed}${Object.keys(took.errors).length ? ` (${Object.entries(took.errors).map(([e, n]) => `${n}× ${e}`).join("; ")})` : ""}; server RSS peak ${w.rssMB.toFixed(0)} MiB`,
      );
    }
    await worker.request("stop");

    const scenario = "media";
    const cpu = collectCpu(rounds.map((w) => ({ value: 0, cpu: w.cpu })));
    const putCpu = collectCpu(putRounds);
    const rawMBps = median(putRounds.map((r) => r.mbps));
    const load = `${users} users upload→complete→send`;
    const figures: Figure[] = [
      { scenario, name: `raw blob store: ${users} clients PUT ~200 KB to signed URLs`, unit: "PUTs/s", rounds: putRounds.map((r) => r.value), cpu: putCpu, note: `${putsPerClient} PUTs per client per round, URLs created beforehand` },
      { scenario, name: `raw blob store: ${users} clients PUT ~200 KB to signed URLs`, unit: "MB/s", rounds: putRounds.map((r) => r.mbps), cpu: putCpu },
      { scenario, name: `${load}: image messages sent and acknowledged`, unit: "/s", rounds: rounds.map((w) => w.rate), cpu, note: "image queue at its defaults: 2 at a time, 32 waiting" },
      {
        scenario,
        name: `${load}: image bytes uploaded`,
        unit: "MB/s",
        rounds: rounds.map((w) => (w.rate * meanPhotoBytes) / MB),
        cpu,
        baseline: { name: "raw PUT", value: rawMBps },
      },
      { scenario, name: `${load}: upload→complete→send p50`, unit: "ms", rounds: rounds.map((w) => w.p50), cpu },
      { scenario, name: `${load}: upload→complete→send p99`, unit: "ms", rounds: rounds.map((w) => w.p99), cpu },
      { scenario, name: `${load}: CompleteUpload p50, timed by the client`, unit: "ms", rounds: rounds.map((w) => w.complete50), cpu },
      { scenario, name: `${load}: CompleteUpload p99, timed by the client`, unit: "ms", rounds: rounds.map((w) => w.complete99), cpu },
      { scenario, name: `${load}: server image processing p50, at most`, unit: "ms", rounds: rounds.map((w) => w.server50), cpu, note: `Δ${histogram}: its bucket's upper bound; the work alone, without the wait for a slot` },
      { scenario, name: `${load}: server image processing p99, at most`, unit: "ms", rounds: rounds.map((w) => w.server99), cpu },
      { scenario, name: `${load}: server image processing mean`, unit: "ms", rounds: rounds.map((w) => w.serverMean), cpu, note: "Δsum/Δcount, exact; the work alone" },
      { scenario, name: `${load}: refusals (RESOURCE_EXHAUSTED, retried)`, unit: "per round", rounds: rounds.map((w) => w.refused), cpu: {}, note: `rejects_total{reason="busy"} +${rounds.map((w) => w.busy).join("/")}` },
      { scenario, name: `${load}: server RSS, peak`, unit: "MiB", rounds: rounds.map((w) => w.rssMB), cpu: {}, note: "sampled every 200 ms" },
    ];
    if (rounds.some((w) => w.failed > 0)) figures.push({ scenario, name: `${load}: images failed otherwise`, unit: "per round", rounds: rounds.map((w) => w.failed), cpu: {}, note: "must be 0" });
    await worker.request("close");
    return figures;
  } finally {
    await worker.stop();
    stopping = true;
    await sys.stop();
  }
}
