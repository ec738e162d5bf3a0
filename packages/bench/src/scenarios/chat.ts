import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { spawnSystem, startCluster, startNatsServer } from "@messenger/testing";
import { CpuMeter } from "../process-stats.js";
import type { Figure } from "../report.js";
import type { ScenarioContext } from "../scenario.js";
import { median, quantile } from "../stats.js";
import { WorkerProcess } from "../worker-host.js";

const messageBytes = 100;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Round {
  value: number;
  cpu: Record<string, number>;
}

function collectCpu(rounds: Round[]): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const r of rounds) for (const [k, v] of Object.entries(r.cpu)) (out[k] ??= []).push(v);
  return out;
}

/** Raw bidi echo on grpc-js: messages echoed per second over 100 connections. */
async function echoBaseline(ctx: ScenarioContext, seconds: number): Promise<Round[]> {
  const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(new URL("../servers/echo-server.ts", import.meta.url))], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve) => child.stdout!.once("data", (d: Buffer) => resolve((JSON.parse(d.toString()) as { grpcPort: number }).grpcPort)));
  const workers = [WorkerProcess.start("load-1", "echo-load"), WorkerProcess.start("load-2", "echo-load")];
  const rounds: Round[] = [];
  try {
    await Promise.all(workers.map((w) => w.request("start", { url: `http://127.0.0.1:${port}`, connections: 50, window: 8, messageBytes })));
    await sleep(1_000);
    for (let r = 0; r < ctx.rounds; r++) {
      const meter = new CpuMeter({ server: child.pid!, ...Object.fromEntries(workers.map((w) => [w.name, w.pid])) });
      await Promise.all(workers.map((w) => w.request("record")));
      await sleep(seconds * 1000);
      const got = await Promise.all(workers.map((w) => w.request<{ echoed: number }>("collect")));
      rounds.push({ value: got.reduce((a, g) => a + g.echoed, 0) / seconds, cpu: meter.read() });
      ctx.log(`echo baseline round ${r + 1}: ${rounds.at(-1)!.value.toFixed(0)} msgs/s`);
    }
    await Promise.all(workers.map((w) => w.request("close")));
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    child.kill("SIGKILL");
  }
  return rounds;
}

/** Raw NATS pub/sub through a nats-server like the cluster's: messages received per second. */
async function natsBaseline(ctx: ScenarioContext, seconds: number): Promise<Round[]> {
  const nats = await startNatsServer();
  const sub = WorkerProcess.start("subscriber", "nats-pubsub");
  const pub = WorkerProcess.start("publisher", "nats-pubsub");
  const rounds: Round[] = [];
  try {
    await sub.request("subscribe", { url: nats.url, subject: "bench.baseline" });
    await pub.request("publish", { url: nats.url, subject: "bench.baseline", messageBytes });
    await sleep(1_000);
    for (let r = 0; r < ctx.rounds; r++) {
      const meter = new CpuMeter({ subscriber: sub.pid, publisher: pub.pid });
      await sub.request("record");
      await sleep(seconds * 1000);
      const got = await sub.request<{ received: number }>("collect");
      rounds.push({ value: got.received / seconds, cpu: meter.read() });
      ctx.log(`nats baseline round ${r + 1}: ${rounds.at(-1)!.value.toFixed(0)} msgs/s`);
    }
    await Promise.all([pub.request("close"), sub.request("close")]);
  } finally {
    await Promise.all([pub.stop(), sub.stop()]);
    await nats.stop();
  }
  return rounds;
}

interface Target {
  name: string;
  urls: string[];
  pids: Record<string, number>;
  stop(): Promise<void>;
}

async function oneProcess(): Promise<Target> {
  const sys = await spawnSystem({ SCRYPT_LOG_N: "10", HEARTBEAT_INTERVAL_MS: "30000", LOG_LEVEL: "warn", OUTBOUND_QUEUE_LIMIT: "100000" });
  return { name: "one process", urls: [sys.grpcUrl], pids: { server: sys.child.pid! }, stop: async () => void (await sys.stop()) };
}

async function cluster(): Promise<Target> {
  const c = await startCluster({ gateways: 2, env: { SCRYPT_LOG_N: "10", HEARTBEAT_INTERVAL_MS: "30000", LOG_LEVEL: "warn", OUTBOUND_QUEUE_LIMIT: "100000" } });
  const pids: Record<string, number> = {};
  for (const p of [c.accounts, c.store, c.presence, c.router, ...c.gateways]) pids[p.name] = p.child.pid!;
  return { name: "cluster, 2 gateways", urls: c.gatewayUrls(), pids, stop: () => c.stop() };
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
  const echo = await echoBaseline(ctx, seconds);
  const echoRate = median(echo.map((r) => r.value));
  figures.push({ scenario: "baseline", name: "raw grpc-js bidi echo, 100 connections", unit: "msgs/s", rounds: echo.map((r) => r.value), cpu: collectCpu(echo) });
  const nats = await natsBaseline(ctx, seconds);
  const natsRate = median(nats.map((r) => r.value));
  figures.push({ scenario: "baseline", name: "raw NATS pub/sub, one subject", unit: "msgs/s", rounds: nats.map((r) => r.value), cpu: collectCpu(nats) });

  for (const start of [oneProcess, cluster]) {
    const target = await start();
    const workers = [WorkerProcess.start("pairs-1", "chat-pairs"), WorkerProcess.start("pairs-2", "chat-pairs")];
    try {
      await Promise.all(workers.map((w, i) => w.request("setup", { urls: target.urls, count: pairsPerWorker, prefix: `w${i}x${Date.now() % 1e6}`, messageBytes })));
      const pids = { ...target.pids, ...Object.fromEntries(workers.map((w) => [w.name, w.pid])) };
      const measure = async (begin: () => Promise<unknown>): Promise<{ delivered: number; latenciesUs: number[]; cpu: Record<string, number> }> => {
        await begin();
        await sleep(500);
        const meter = new CpuMeter(pids);
        await Promise.all(workers.map((w) => w.request("record")));
        await sleep(seconds * 1000);
        const got = await Promise.all(workers.map((w) => w.request<{ delivered: number; latenciesUs: number[] }>("collect")));
        const cpu = meter.read();
        await Promise.all(workers.map((w) => w.request("stop")));
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
      figures.push({ scenario: "chat", name: `${target.name}: send→deliver p50 at ${(sat / 2).toFixed(0)}/s`, unit: "ms", rounds: lat.p50, cpu });
      figures.push({ scenario: "chat", name: `${target.name}: send→deliver p99`, unit: "ms", rounds: lat.p99, cpu, baseline: { name: `the ${target99} ms target`, value: target99 } });
      figures.push({ scenario: "chat", name: `${target.name}: send→deliver p99.9`, unit: "ms", rounds: lat.p999, cpu });
      await Promise.all(workers.map((w) => w.request("close")));
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
      await target.stop();
    }
  }
  return figures;
}
