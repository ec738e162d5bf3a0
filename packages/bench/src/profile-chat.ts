// Profiles the one-process system under chat saturation: node --cpu-prof on the server.
// Usage: node --import tsx packages/bench/src/profile-chat.ts [dir]
import { spawnSystem } from "@messenger/testing";
import { WorkerProcess } from "./worker-host.js";

const dir = process.argv[2] ?? "/tmp/prof";
const sys = await spawnSystem({ SCRYPT_LOG_N: "10", HEARTBEAT_INTERVAL_MS: "30000", LOG_LEVEL: "warn", OUTBOUND_QUEUE_LIMIT: "100000" }, ["--cpu-prof", `--cpu-prof-dir=${dir}`]);
const w = WorkerProcess.start("pairs", "chat-pairs");
await w.request("setup", { urls: [sys.grpcUrl], count: 50, prefix: `p${Date.now() % 1e6}`, messageBytes: 100 });
await w.request("saturate", { window: 16 });
await w.request("record");
await new Promise((r) => setTimeout(r, 8_000));
const got = await w.request<{ delivered: number }>("collect");
console.log(`delivered ${got.delivered / 8}/s`);
await w.request("stop");
await w.stop();
await sys.stop();
console.log(`profile in ${dir}`);
