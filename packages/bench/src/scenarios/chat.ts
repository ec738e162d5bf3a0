import { spawnSystem, startCluster } from "@messenger/testing";
import { baselines, collectCpu, messageBytes, type Round } from "../baselines.js";
import { CpuMeter } from "../process-stats.js";
import { appendRowsPerMessage, clusterStoreCounters, oneProcessStoreCounters, type StoreCounters } from "../store-counters.js";
import type { Figure } from "../report.js";
import type { ScenarioContext } from "../scenario.js";
import { median, quantile } from "../stats.js";
import { WorkerProcess } from "../worker-host.js";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Target {
  name: string;
  urls: string[];
  pids: Record<string, number>;
  store(): Promise<StoreCounters>;
  stop(): Promise<void>;
}

async function oneProcess(): Promise<Target> {
  const sys = await spawnSystem({ SCRYPT_LOG_N: "10", HEARTBEAT_INTERVAL_MS: "30000", LOG_LEVEL: "warn", OUTBOUND_QUEUE_LIMIT: "100000" });
  return { name: "one process", urls: [sys.grpcUrl], pids: { server: sys.child.pid! }, store: () => oneProcessStoreCounters(sys.httpPort), stop: async () => void (await sys.stop()) };
}

async function cluster(): Promise<Target> {
  const c = await startCluster({ gateways: 2, env: { SCRYPT_LOG_N: "10", HEARTBEAT_INTERVAL_MS: "30000", LOG_LEVEL: "warn", OUTBOUND_QUEUE_LIMIT: "100000" } });
  const pids: Record<string, number> = {};
  for (const p of [c.accounts, c.store, c.presence, c.router, ...c.gateways]) pids[p.name] = p.child.pid!;
  return { name: "cluster, 2 gateways", urls: c.gatewayUrls(), pids, store: () => clusterStoreCounters(c), stop: () => c.stop() };
}

/**
 * 1:1 chat: P pairs; (a) saturation: delivered messages/s with every message durably stored
 * and delivered receipts on; (b) latency: send→deliver at a fixed rate of half the
 * saturation rate. For the one-process system and for the local cluster with two gateways,
 * compared with a raw grpc-js echo and raw NATS pub/sub measured in the same run.
 */
export async function chat(ctx: ScenarioContext): Promise<Figure[]> {
  const seconds = ctx.quick ? 2 : 10;
  const pairsPerWorker = ctx.quick ? 25 : 50;
  const figures: Figure[] = [];
  const { echoRate, natsRate, figures: baselineFigures } = await baselines(ctx);
  figures.push(...baselineFigures);

  for (const start of [oneProcess, cluster]) {
    const target = await start();
    const workers = [WorkerProcess.start("pairs-1", "chat-pairs"), WorkerProcess.start("pairs-2", "chat-pairs")];
    try {
      await Promise.all(workers.map((w, i) => w.request("setup", { urls: target.urls, count: pairsPerWorker, prefix: `w${i}x${Date.now() % 1e6}`, messageBytes })));
      const pids = { ...target.pids, ...Object.fromEntries(workers.map((w) => [w.name, w.pid])) };
      const rows: number[] = [];
      const measure = async (begin: () => Promise<unknown>): Promise<{ delivered: number; latenciesUs: number[]; cpu: Record<string, number> }> => {
        const s0 = await target.store();
        await begin();
        await sleep(500);
        const meter = new CpuMeter(pids);
        await Promise.all(workers.map((w) => w.request("record")));
        await sleep(seconds * 1000);
        const got = await Promise.all(workers.map((w) => w.request<{ delivered: number; latenciesUs: number[] }>("collect")));
        const cpu = meter.read();
        await Promise.all(workers.map((w) => w.request("stop")));
        rows.push(appendRowsPerMessage(s0, await target.store()));
        return { delivered: got.reduce((a, g) => a + g.delivered, 0), latenciesUs: got.flatMap((g) => g.latenciesUs), cpu };
      };
      const saturation: Round[] = [];
      for (let r = 0; r < ctx.rounds; r++) {
        const m = await measure(() => Promise.all(workers.map((w) => w.request("saturate", { window: 16 }))));
        saturation.push({ value: m.delivered / seconds, cpu: m.cpu });
        ctx.log(`${target.name} saturation round ${r + 1}: ${saturation.at(-1)!.value.toFixed(0)} delivered/s`);
      }
      const sat = median(saturation.map((r) => r.value));
      figures.push({
        scenario: "chat",
        name: `${target.name}: saturation, ${2 * pairsPerWorker} pairs, stored + receipts`,
        unit: "delivered/s",
        rounds: saturation.map((r) => r.value),
        cpu: collectCpu(saturation),
        baseline: { name: "raw echo", value: echoRate },
        compare: { target: target.name, traffic: `1:1, ${2 * pairsPerWorker} pairs, acks every 8th`, metric: ["delivered/s", "msgs/s"] },
        ...(target.name.startsWith("cluster") ? { note: `raw NATS ${natsRate.toFixed(0)} msgs/s` } : {}),
      });
      const lat: { p50: number[]; p99: number[]; p999: number[]; cpu: Round[] } = { p50: [], p99: [], p999: [], cpu: [] };
      for (let r = 0; r < ctx.rounds; r++) {
        const m = await measure(() => Promise.all(workers.map((w) => w.request("rate", { perSecond: sat / 2 / workers.length }))));
        lat.p50.push(quantile(m.latenciesUs, 0.5) / 1000);
        lat.p99.push(quantile(m.latenciesUs, 0.99) / 1000);
        lat.p999.push(quantile(m.latenciesUs, 0.999) / 1000);
        lat.cpu.push({ value: 0, cpu: m.cpu });
        ctx.log(`${target.name} latency round ${r + 1} at ${(sat / 2).toFixed(0)}/s: p50 ${lat.p50.at(-1)!.toFixed(2)} ms, p99 ${lat.p99.at(-1)!.toFixed(2)} ms`);
      }
      const cpu = collectCpu(lat.cpu);
      const target99 = target.name === "one process" ? 10 : 25;
      figures.push({ scenario: "chat", name: `${target.name}: send→deliver p50 at ${(sat / 2).toFixed(0)}/s`, unit: "ms", rounds: lat.p50, cpu, compare: { target: target.name, traffic: `1:1, ${2 * pairsPerWorker} pairs, acks every 8th`, metric: "p50" } });
      figures.push({ scenario: "chat", name: `${target.name}: send→deliver p99`, unit: "ms", rounds: lat.p99, cpu, baseline: { name: `the ${target99} ms target`, value: target99 }, compare: { target: target.name, traffic: `1:1, ${2 * pairsPerWorker} pairs, acks every 8th`, metric: "p99" } });
      figures.push({ scenario: "chat", name: `${target.name}: send→deliver p99.9`, unit: "ms", rounds: lat.p999, cpu });
      figures.push({
        scenario: "chat",
        name: `${target.name}: store rows written per message`,
        unit: "rows/msg",
        rounds: rows,
        cpu: {},
        note: `Δrows_written{kind="append"} / Δmessages_stored, one value per round`,
        compare: { target: target.name, traffic: `1:1, ${2 * pairsPerWorker} pairs, acks every 8th`, metric: "rows/msg" },
      });
      await Promise.all(workers.map((w) => w.request("close")));
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
      await target.stop();
    }
  }
  return figures;
}
