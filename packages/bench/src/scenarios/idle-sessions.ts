import { join } from "node:path";
import { spawnSystem } from "@messenger/testing";
import { CpuMeter, rssBytes } from "../process-stats.js";
import type { Figure } from "../report.js";
import type { ScenarioContext } from "../scenario.js";
import { WorkerProcess } from "../worker-host.js";

async function heapUsed(httpPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const m = /^nodejs_heap_size_used_bytes(?:\{[^}]*\})? (\S+)/m.exec(text);
  return m ? Number(m[1]) : Number.NaN;
}

async function activeStreams(httpPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const m = /^messenger_gateway_active_streams(?:\{[^}]*\})? (\S+)/m.exec(text);
  return m ? Number(m[1]) : 0;
}

/**
 * Idle sessions on ONE gateway process (the one-process system): N authenticated device
 * streams, hello/welcome/sync done, heartbeats running. Reports RSS and heap growth per
 * session. A process may hold at most 20,000 descriptors here, so beyond ~19k sessions the
 * load generator multiplexes several sessions (HTTP/2 streams) per connection.
 */
export async function idleSessions(ctx: ScenarioContext): Promise<Figure[]> {
  const steps = process.env.BENCH_IDLE_STEPS ? process.env.BENCH_IDLE_STEPS.split(",").map(Number) : ctx.quick ? [1_000, 5_000] : [1_000, 10_000, 100_000];
  const figures: Figure[] = [];
  for (const n of steps) {
    const perConnection = n > 15_000 ? 10 : 1;
    const rounds = n >= 50_000 ? 1 : ctx.rounds;
    const rss: number[] = [];
    const heap: number[] = [];
    const cpu: Record<string, number[]> = { gateway: [], generators: [] };
    for (let r = 0; r < rounds; r++) {
      const sys = await spawnSystem({ HEARTBEAT_INTERVAL_MS: "30000", LOG_LEVEL: "warn" });
      const pid = sys.child.pid!;
      const workerCount = Math.max(1, Math.ceil(n / 40_000));
      const workers = Array.from({ length: workerCount }, (_, i) => WorkerProcess.start(`idle-${i}`, "idle-sessions"));
      try {
        await new Promise((res) => setTimeout(res, 1_000));
        const rss0 = rssBytes(pid);
        const heap0 = await heapUsed(sys.httpPort);
        const per = Math.ceil(n / workerCount);
        const opened = await Promise.all(
          workers.map((w, i) =>
            w.request<{ opened: number; failed: number }>("open", {
              url: sys.grpcUrl,
              count: Math.min(per, n - i * per),
              perConnection,
              keyPath: join(sys.dataDir, "keys", "token-signing.jwk.json"),
              userPrefix: `bench-${i}-`,
              heartbeatMs: 30_000,
            }),
          ),
        );
        const total = opened.reduce((a, o) => a + o.opened, 0);
        if (total !== n) throw new Error(`only ${total} of ${n} sessions opened`);
        const streams = await activeStreams(sys.httpPort);
        if (streams !== n) throw new Error(`gateway reports ${streams} active streams, expected ${n}`);
        const meter = new CpuMeter({ gateway: pid, ...Object.fromEntries(workers.map((w) => [w.name, w.pid])) });
        await new Promise((res) => setTimeout(res, ctx.quick ? 2_000 : 5_000));
        const c = meter.read();
        cpu.gateway!.push(c.gateway!);
        cpu.generators!.push(workers.reduce((a, w) => a + (c[w.name] ?? 0), 0));
        rss.push((rssBytes(pid) - rss0) / n / 1024);
        heap.push(((await heapUsed(sys.httpPort)) - heap0) / n / 1024);
        ctx.log(`idle ${n} (${perConnection}/conn) round ${r + 1}: ${rss.at(-1)!.toFixed(2)} KiB RSS, ${heap.at(-1)!.toFixed(2)} KiB heap per session`);
        await Promise.all(workers.map((w) => w.request("close")));
      } finally {
        await Promise.all(workers.map((w) => w.stop()));
        await sys.stop();
      }
    }
    const label = `${n.toLocaleString("en-US")} sessions${perConnection > 1 ? `, ${perConnection} per connection` : ", 1 per connection"}`;
    figures.push({ scenario: "idle", name: `RSS per session, ${label}`, unit: "KiB", rounds: rss, cpu, baseline: { name: "the 10 KiB target", value: 10 } });
    figures.push({ scenario: "idle", name: `heap per session, ${label}`, unit: "KiB", rounds: heap, cpu });
  }
  return figures;
}
