// The raw baselines every throughput figure is compared with, measured once per run (by
// whichever of the chat and group scenarios runs first) on the same machine, with the same
// message size.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { startNatsServer } from "@messenger/testing";
import { CpuMeter } from "./process-stats.js";
import type { Figure } from "./report.js";
import type { ScenarioContext } from "./scenario.js";
import { median } from "./stats.js";
import { WorkerProcess } from "./worker-host.js";

/** The message size of the chat and group scenarios and of the baselines. */
export const messageBytes = 100;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface Round {
  value: number;
  cpu: Record<string, number>;
}

export function collectCpu(rounds: Round[]): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const r of rounds) for (const [k, v] of Object.entries(r.cpu)) (out[k] ??= []).push(v);
  return out;
}

/** Raw bidi echo on grpc-js: messages echoed per second over 100 connections. */
async function echoBaseline(ctx: ScenarioContext, seconds: number): Promise<Round[]> {
  const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(new URL("./servers/echo-server.ts", import.meta.url))], { stdio: ["ignore", "pipe", "inherit"] });
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

export interface Baselines {
  /** Raw grpc-js bidi echo, messages echoed per second. */
  readonly echoRate: number;
  /** Raw NATS pub/sub, messages received per second. */
  readonly natsRate: number;
  /** The baseline figures; only the first caller in a run gets them, so they print once. */
  readonly figures: Figure[];
}

let measured: Promise<{ echoRate: number; natsRate: number; figures: Figure[] }> | undefined;

/**
 * Measures the baselines on the first call of the run, with that caller's rounds and
 * seconds per round (the figures show n); later calls reuse the values.
 */
export async function baselines(ctx: ScenarioContext, size: { rounds: number; seconds: number } = { rounds: ctx.rounds, seconds: ctx.quick ? 2 : 10 }): Promise<Baselines> {
  const first = measured === undefined;
  measured ??= (async () => {
    const sized = { ...ctx, rounds: size.rounds };
    const echo = await echoBaseline(sized, size.seconds);
    const nats = await natsBaseline(sized, size.seconds);
    return {
      echoRate: median(echo.map((r) => r.value)),
      natsRate: median(nats.map((r) => r.value)),
      figures: [
        { scenario: "baseline", name: "raw grpc-js bidi echo, 100 connections", unit: "msgs/s", rounds: echo.map((r) => r.value), cpu: collectCpu(echo) },
        { scenario: "baseline", name: "raw NATS pub/sub, one subject", unit: "msgs/s", rounds: nats.map((r) => r.value), cpu: collectCpu(nats) },
      ],
    };
  })();
  const b = await measured;
  return { ...b, figures: first ? b.figures : [] };
}
