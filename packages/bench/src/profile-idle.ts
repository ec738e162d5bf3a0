// Where an idle session's memory goes: heap snapshots of the one-process system before and
// after N idle sessions, the difference summarized per session by object kind.
// Usage: node --import tsx packages/bench/src/profile-idle.ts [sessions] [per connection]
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSystem } from "@messenger/testing";
import { rssBytes } from "./process-stats.js";
import { WorkerProcess } from "./worker-host.js";

const n = Number(process.argv[2] ?? 2000);
const perConnection = Number(process.argv[3] ?? 1);
const dir = mkdtempSync(join(tmpdir(), "messenger-heap-"));
const sys = await spawnSystem({ HEARTBEAT_INTERVAL_MS: "30000", LOG_LEVEL: "warn" }, ["--heapsnapshot-signal=SIGUSR2", `--diagnostic-dir=${dir}`]);
const pid = sys.child.pid!;

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

/** Self size by "type:name", from a snapshot the server writes on SIGUSR2. */
async function snapshot(): Promise<Map<string, { size: number; count: number }>> {
  const before = new Set(readdirSync(dir));
  process.kill(pid, "SIGUSR2");
  let file: string | undefined;
  for (let i = 0; i < 600 && !file; i++) {
    await new Promise((r) => setTimeout(r, 500));
    file = readdirSync(dir).find((f) => !before.has(f) && f.endsWith(".heapsnapshot"));
  }
  // Written in chunks: parse once it is complete.
  let s: Snapshot | undefined;
  while (!s) {
    await new Promise((r) => setTimeout(r, 1000));
    try {
      s = JSON.parse(readFileSync(join(dir, file!), "utf8")) as Snapshot;
    } catch {
      // not complete yet
    }
  }
  const fields = s.snapshot.meta.node_fields;
  const types = s.snapshot.meta.node_types[0];
  const [ti, ni, si] = ["type", "name", "self_size"].map((f) => fields.indexOf(f));
  const out = new Map<string, { size: number; count: number }>();
  for (let i = 0; i < s.nodes.length; i += fields.length) {
    const type = types[s.nodes[i + ti!]!]!;
    const name = type === "object" || type === "native" || type === "closure" ? s.strings[s.nodes[i + ni!]!]! : `(${type})`;
    const k = `${type}:${name.slice(0, 60)}`;
    const e = out.get(k) ?? { size: 0, count: 0 };
    e.size += s.nodes[i + si!]!;
    e.count++;
    out.set(k, e);
  }
  return out;
}

const w = WorkerProcess.start("idle", "idle-sessions");
try {
  await new Promise((r) => setTimeout(r, 1000));
  const rss0 = rssBytes(pid);
  const base = await snapshot();
  await w.request("open", { url: sys.grpcUrl, count: n, perConnection, keyPath: join(sys.dataDir, "keys", "token-signing.jwk.json"), userPrefix: "heap-", heartbeatMs: 30_000 });
  await new Promise((r) => setTimeout(r, 2000));
  const rss = (rssBytes(pid) - rss0) / n;
  const after = await snapshot();
  const rows = [...after].map(([k, v]) => ({ k, size: (v.size - (base.get(k)?.size ?? 0)) / n, count: (v.count - (base.get(k)?.count ?? 0)) / n }));
  rows.sort((a, b) => b.size - a.size);
  const heap = rows.reduce((a, r) => a + r.size, 0);
  console.log(`${n} sessions, ${perConnection} per connection: RSS ${(rss / 1024).toFixed(1)} KiB, heap objects ${(heap / 1024).toFixed(1)} KiB per session`);
  for (const r of rows.slice(0, 40)) console.log(`${r.size.toFixed(0).padStart(7)} B ${r.count.toFixed(2).padStart(6)}×  ${r.k}`);
  await w.request("close");
} finally {
  await w.stop();
  await sys.stop();
  if (!process.env.KEEP_SNAPSHOTS) rmSync(dir, { recursive: true, force: true });
  else console.log(`snapshots in ${dir}`);
}
