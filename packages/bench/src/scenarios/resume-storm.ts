import { MessengerClient } from "@messenger/sdk";
import { startCluster } from "@messenger/testing";
import { CpuMeter } from "../process-stats.js";
import type { Figure } from "../report.js";
import type { ScenarioContext } from "../scenario.js";
import { WorkerProcess } from "../worker-host.js";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Resume storm: N clients on gateway-1 of a two-gateway cluster, each in a conversation
 * with one sender on gateway-2. Messages flow, gateway-1 is killed (SIGKILL), more messages
 * are sent while its clients reconnect to gateway-2. Reports the time from the kill until
 * every client has resumed and holds every message, and messages lost / duplicated / out of
 * order (all must be 0).
 */
export async function resumeStorm(ctx: ScenarioContext): Promise<Figure[]> {
  const n = ctx.quick ? 100 : 1_000;
  const rounds = ctx.quick ? 1 : Math.min(3, ctx.rounds);
  const times: number[] = [];
  const resumedTimes: number[] = [];
  const bad: number[] = [];
  const cpu: Record<string, number[]> = {};
  for (let r = 0; r < rounds; r++) {
    const cluster = await startCluster({ gateways: 2, env: { SCRYPT_LOG_N: "10", HEARTBEAT_INTERVAL_MS: "1000", LOG_LEVEL: "warn" } });
    const urls = cluster.gatewayUrls();
    const workers = [WorkerProcess.start("clients-1", "storm-clients"), WorkerProcess.start("clients-2", "storm-clients")];
    const sender = new MessengerClient({ url: [urls[1]!, urls[0]!], deviceId: "sender" });
    try {
      const name = `storm-sender-${Date.now() % 1e7}`;
      await sender.register(name, "bench password");
      await sender.login(name, "bench password");
      await sender.connect();
      const setups = await Promise.all(
        workers.map((w, i) => w.request<{ conversationIds: string[]; urls: string[] }>("setup", { urls, count: n / 2, prefix: `${name}-c${i}-`, senderUserId: sender.user!.id })),
      );
      if (setups.some((s) => s.urls.some((u) => u !== urls[0]))) throw new Error("clients did not all start on gateway-1");
      const conversations = setups.flatMap((s) => s.conversationIds);
      const sendRound = (k: number): Promise<unknown> => Promise.all(conversations.map((c) => sender.send(c, `round ${k}`)));
      await sendRound(1);
      await sendRound(2);
      const meter = new CpuMeter({ "gateway-2": cluster.gateways[1]!.child.pid!, router: cluster.router.child.pid!, store: cluster.store.child.pid!, presence: cluster.presence.child.pid! });
      const killedAt = performance.now();
      await cluster.gateways[0]!.stop("SIGKILL");
      const storm = (async () => {
        for (let k = 3; k <= 5; k++) await sendRound(k);
      })();
      let resumedAt: number | undefined;
      for (;;) {
        const progress = await Promise.all(workers.map((w) => w.request<{ caughtUp: number; resumed: number }>("progress", { expected: 5 })));
        const done = progress.reduce((a, p) => a + p.caughtUp, 0);
        if (resumedAt === undefined && progress.reduce((a, p) => a + p.resumed, 0) === n) resumedAt = performance.now();
        if (done === n && resumedAt !== undefined) break;
        if (performance.now() - killedAt > 120_000) throw new Error(`only ${done} of ${n} clients caught up after 120 s`);
        await sleep(20);
      }
      await storm;
      times.push((performance.now() - killedAt) / 1000);
      resumedTimes.push((resumedAt! - killedAt) / 1000);
      for (const [k, v] of Object.entries(meter.read())) (cpu[k] ??= []).push(v);
      await sleep(500);
      const v = await Promise.all(workers.map((w) => w.request<{ lost: number; outOfOrder: number; duplicates: number; reconnects: number }>("verify", { expected: 5 })));
      const sum = (f: (x: (typeof v)[number]) => number): number => v.reduce((a, x) => a + f(x), 0);
      bad.push(sum((x) => x.lost) + sum((x) => x.duplicates) + sum((x) => x.outOfOrder));
      ctx.log(`storm round ${r + 1}: ${n} clients resumed in ${times.at(-1)!.toFixed(2)} s; lost ${sum((x) => x.lost)}, duplicated ${sum((x) => x.duplicates)}, out of order ${sum((x) => x.outOfOrder)}, reconnects ${sum((x) => x.reconnects)}`);
      await Promise.all(workers.map((w) => w.request("close")));
    } finally {
      await sender.close();
      await Promise.all(workers.map((w) => w.stop()));
      await cluster.stop();
    }
  }
  return [
    { scenario: "resume storm", name: `${n} clients: gateway killed → all reconnected and resumed`, unit: "s", rounds: resumedTimes, cpu },
    {
      scenario: "resume storm",
      name: `${n} clients: gateway killed → all caught up (${3 * n} more messages sent meanwhile)`,
      unit: "s",
      rounds: times,
      cpu,
    },
    { scenario: "resume storm", name: "messages lost + duplicated + out of order", unit: "msgs", rounds: bad, cpu: {}, note: "must be 0" },
  ];
}
