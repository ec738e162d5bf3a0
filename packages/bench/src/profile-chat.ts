// Profiles the one-process system under chat saturation: node --cpu-prof on the server.
// Usage: node --import tsx packages/bench/src/profile-chat.ts [dir] [messages/s]
// Without a rate the senders saturate (a window of 16 sends each); with one they send at
// that fixed rate, one send per call, as in the latency figures.
import { spawnSystem } from "@messenger/testing";
import { WorkerProcess } from "./worker-host.js";

const dir = process.argv[2] ?? "/tmp/prof";
const sys = await spawnSystem({ SCRYPT_LOG_N: "10", HEARTBEAT_INTERVAL_MS: "30000", LOG_LEVEL: "warn", OUTBOUND_QUEUE_LIMIT: "100000" }, process.env.NO_PROF ? (process.env.EXTRA ?? "").split(" ").filter(Boolean) : ["--cpu-prof", `--cpu-prof-dir=${dir}`]);
const w = WorkerProcess.start("pairs", "chat-pairs");
await w.request("setup", { urls: [sys.grpcUrl], count: 50, prefix: `p${Date.now() % 1e6}`, messageBytes: 100 });
const rate = Number(process.argv[3] ?? 0);
await w.request(rate > 0 ? "rate" : "saturate", rate > 0 ? { perSecond: rate } : { window: 16 });
await w.request("record");
await new Promise((r) => setTimeout(r, 8_000));
const got = await w.request<{ delivered: number }>("collect");
const lat = (got as { latenciesUs?: number[] }).latenciesUs ?? [];
lat.sort((a, b) => a - b);
console.log(`delivered ${got.delivered / 8}/s, p50 ${(lat[Math.floor(lat.length * 0.5)]! / 1000).toFixed(2)} ms, p99 ${(lat[Math.floor(lat.length * 0.99)]! / 1000).toFixed(2)} ms`);
if (process.env.SHOW_METRICS) {
  const text = await (await fetch(`http://127.0.0.1:${sys.httpPort}/metrics`)).text();
  console.log(text.split("\n").filter((l) => l.startsWith("messenger_gateway_send_seconds") || l.startsWith("messenger_rpc_duration_seconds_bucket{rpc=\"messenger.router")).join("\n"));
}
await w.request("stop");
await w.stop();
await sys.stop();
console.log(`profile in ${dir}`);
