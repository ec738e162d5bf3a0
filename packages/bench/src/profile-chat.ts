// Profiles the system under 1:1 chat with node --cpu-prof on every server process.
// Usage: node --import tsx packages/bench/src/profile-chat.ts [--dir D] [--rate N] [--cluster] [--no-prof]
// Without --rate the senders saturate (16 sends in flight each); with it they send at that
// fixed rate, one send per call, as in the latency figures. --cluster profiles the local
// cluster with two gateways instead of the one-process system. --no-prof runs without the
// profiler and prints the gateway's send-latency histogram instead.
import { parseArgs } from "node:util";
import { spawnSystem, startCluster } from "@messenger/testing";
import { CpuMeter } from "./process-stats.js";
import { quantile } from "./stats.js";
import { WorkerProcess } from "./worker-host.js";

const { values: opts } = parseArgs({
  options: { dir: { type: "string", default: "/tmp/prof" }, rate: { type: "string", default: "0" }, cluster: { type: "boolean", default: false }, "no-prof": { type: "boolean", default: false } },
});
const env = { SCRYPT_LOG_N: "10", HEARTBEAT_INTERVAL_MS: "30000", LOG_LEVEL: "warn", OUTBOUND_QUEUE_LIMIT: "100000" };
const execArgv = opts["no-prof"] ? [] : ["--cpu-prof", `--cpu-prof-dir=${opts.dir}`];
let urls: string[];
let metricsUrl: string;
let routerMetricsUrl: string | undefined;
let stop: () => Promise<unknown>;
const pids: Record<string, number> = {};
if (opts.cluster) {
  const c = await startCluster({ gateways: 2, env, execArgv });
  urls = c.gatewayUrls();
  metricsUrl = `http://127.0.0.1:${c.gateways[0]!.httpPort}/metrics`;
  routerMetricsUrl = `http://127.0.0.1:${c.router.httpPort}/metrics`;
  for (const p of [c.store, c.router, ...c.gateways]) pids[p.name] = p.child.pid!;
  stop = () => c.stop();
} else {
  const sys = await spawnSystem(env, execArgv);
  urls = [sys.grpcUrl];
  metricsUrl = `http://127.0.0.1:${sys.httpPort}/metrics`;
  pids.server = sys.child.pid!;
  stop = () => sys.stop();
}
const w = WorkerProcess.start("pairs", "chat-pairs");
await w.request("setup", { urls, count: 50, prefix: `p${Date.now() % 1e6}`, messageBytes: 100 });
const rate = Number(opts.rate);
await w.request(rate > 0 ? "rate" : "saturate", rate > 0 ? { perSecond: rate } : { window: 16 });
await new Promise((r) => setTimeout(r, 500));
console.log(`pids: ${JSON.stringify(pids)}`);
pids.pairs = w.pid;
const meter = new CpuMeter(pids);
await w.request("record");
await new Promise((r) => setTimeout(r, 8_000));
const cpu = meter.read();
const got = await w.request<{ delivered: number; latenciesUs: number[] }>("collect");
const ms = (q: number): string => (quantile(got.latenciesUs, q) / 1000).toFixed(2);
console.log(`delivered ${(got.delivered / 8).toFixed(0)}/s, send→deliver p50 ${ms(0.5)} ms, p99 ${ms(0.99)} ms`);
console.log(`CPU%: ${Object.entries(cpu).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(", ")}`);
if (opts["no-prof"]) {
  const text = await (await fetch(metricsUrl)).text();
  console.log(text.split("\n").filter((l) => l.startsWith("messenger_gateway_send_seconds")).join("\n"));
  if (routerMetricsUrl) {
    const router = await (await fetch(routerMetricsUrl)).text();
    console.log(router.split("\n").filter((l) => l.startsWith("messenger_rpc_started_total")).join("\n"));
  }
}
await w.request("stop");
await w.stop();
await stop();
if (!opts["no-prof"]) console.log(`profiles in ${opts.dir}`);
