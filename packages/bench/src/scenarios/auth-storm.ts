import { createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { defaultHashQueueLimit, defaultHashThreads } from "@messenger/auth";
import { AccountsService } from "@messenger/proto/accounts/v1/accounts_service";
import { spawnSystem } from "@messenger/testing";
import { CpuMeter } from "../process-stats.js";
import type { Figure } from "../report.js";
import type { ScenarioContext } from "../scenario.js";
import { median, quantile } from "../stats.js";
import { WorkerProcess } from "../worker-host.js";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const password = "bench password";

/** What one probe window measured, per round. */
interface Window {
  list: { p50: number; p99: number; n: number };
  hello: { p50: number; p99: number; n: number };
  cpu: Record<string, number>;
}

/**
 * Auth storm: on the one-process system with the production scrypt cost (SCRYPT_LOG_N=17,
 * 128 MiB per hash), the latency an unrelated, already signed-in user sees for a unary
 * call (`ListConversations`) and for opening a device session (time to `welcome`), first
 * on an idle server, then while `concurrency` clients log in continuously; plus the logins
 * completed and refused per second meanwhile. Rate limits are off: the storm meets the
 * password-hashing queue only.
 */
export async function authStorm(ctx: ScenarioContext): Promise<Figure[]> {
  const seconds = ctx.quick ? 4 : 10;
  const concurrency = 50;
  const sys = await spawnSystem({
    SCRYPT_LOG_N: "17",
    LOG_LEVEL: "warn",
    HEARTBEAT_INTERVAL_MS: "30000",
    LOGIN_RATE_LIMIT_PER_USERNAME: "off",
    LOGIN_RATE_LIMIT_PER_ADDRESS: "off",
    REGISTER_RATE_LIMIT_PER_ADDRESS: "off",
    // The probe opens a session after every unary call.
    NEW_SESSION_RATE_LIMIT_PER_USER: "off",
    // The production defaults (spawnSystem widens the pool and lengthens its queue).
    PASSWORD_HASH_CONCURRENCY: String(defaultHashThreads),
    PASSWORD_HASH_QUEUE_LIMIT: String(defaultHashQueueLimit),
  });
  const probe = WorkerProcess.start("probe", "auth-probe");
  const storm = WorkerProcess.start("logins", "auth-storm");
  const pids = { server: sys.child.pid!, probe: probe.pid, logins: storm.pid };
  const names = { probe: `probe${Date.now() % 1e7}`, storm: `storm${Date.now() % 1e7}` };
  try {
    const sessions = new Http2SessionManager(sys.grpcUrl);
    const accounts = createClient(AccountsService, createGrpcTransport({ baseUrl: sys.grpcUrl, sessionManager: sessions }));
    for (const username of Object.values(names)) await accounts.register({ username, password, displayName: username });
    sessions.abort();
    await probe.request("setup", { url: sys.grpcUrl, username: names.probe, password });

    const window = async (): Promise<Window> => {
      const meter = new CpuMeter(pids);
      const got = await probe.request<{ listMs: number[]; helloMs: number[] }>("probe", { seconds });
      const stats = (xs: number[]) => ({ p50: quantile(xs, 0.5), p99: quantile(xs, 0.99), n: xs.length });
      return { list: stats(got.listMs), hello: stats(got.helloMs), cpu: meter.read() };
    };
    const idle: Window[] = [];
    for (let r = 0; r < ctx.rounds; r++) {
      idle.push(await window());
      ctx.log(`idle round ${r + 1}: ListConversations p50 ${idle.at(-1)!.list.p50.toFixed(2)} ms p99 ${idle.at(-1)!.list.p99.toFixed(2)} ms; Session hello p50 ${idle.at(-1)!.hello.p50.toFixed(2)} ms p99 ${idle.at(-1)!.hello.p99.toFixed(2)} ms`);
    }
    await storm.request("start", { url: sys.grpcUrl, username: names.storm, password, concurrency });
    // Long enough for the hashing queue to fill.
    await sleep(2_000);
    await storm.request("take");
    const loaded: Window[] = [];
    const logins: { completed: number; refused: number; failed: number }[] = [];
    for (let r = 0; r < ctx.rounds; r++) {
      const t0 = performance.now();
      loaded.push(await window());
      const took = await storm.request<{ completed: number; refused: number; failed: number; lastError: string }>("take");
      const s = (performance.now() - t0) / 1000;
      logins.push({ completed: took.completed / s, refused: took.refused / s, failed: took.failed / s });
      const w = loaded.at(-1)!;
      ctx.log(
        `storm round ${r + 1}: ListConversations p50 ${w.list.p50.toFixed(2)} ms p99 ${w.list.p99.toFixed(2)} ms (n=${w.list.n}); Session hello p50 ${w.hello.p50.toFixed(2)} ms p99 ${w.hello.p99.toFixed(2)} ms; ` +
          `logins/s completed ${logins.at(-1)!.completed.toFixed(2)}, refused ${logins.at(-1)!.refused.toFixed(2)}, failed ${logins.at(-1)!.failed.toFixed(2)}${took.lastError ? ` (${took.lastError})` : ""}`,
      );
    }
    await storm.request("stop");

    const cpuOf = (ws: Window[]): Record<string, number[]> => {
      const out: Record<string, number[]> = {};
      for (const w of ws) for (const [k, v] of Object.entries(w.cpu)) (out[k] ??= []).push(v);
      return out;
    };
    const scenario = "auth storm";
    const figures: Figure[] = [];
    const idleCpu = cpuOf(idle);
    const loadedCpu = cpuOf(loaded);
    for (const [call, pick] of [
      ["ListConversations", (w: Window) => w.list],
      ["Session hello→welcome", (w: Window) => w.hello],
    ] as const) {
      for (const q of ["p50", "p99"] as const) {
        const idleRounds = idle.map((w) => pick(w)[q]);
        figures.push({ scenario, name: `idle server: ${call} ${q}`, unit: "ms", rounds: idleRounds, cpu: idleCpu });
        figures.push({
          scenario,
          name: `${concurrency} logins in a loop: ${call} ${q}`,
          unit: "ms",
          rounds: loaded.map((w) => pick(w)[q]),
          cpu: loadedCpu,
          baseline: { name: "idle", value: median(idleRounds) },
          note: `${loaded.map((w) => pick(w).n).join("/")} calls per round`,
        });
      }
    }
    figures.push({ scenario, name: `${concurrency} logins in a loop: logins completed`, unit: "/s", rounds: logins.map((l) => l.completed), cpu: loadedCpu, note: "SCRYPT_LOG_N=17" });
    figures.push({ scenario, name: `${concurrency} logins in a loop: logins refused (RESOURCE_EXHAUSTED)`, unit: "/s", rounds: logins.map((l) => l.refused), cpu: {} });
    if (logins.some((l) => l.failed > 0)) figures.push({ scenario, name: `${concurrency} logins in a loop: logins failed otherwise`, unit: "/s", rounds: logins.map((l) => l.failed), cpu: {}, note: "must be 0" });
    await probe.request("close");
    return figures;
  } finally {
    await Promise.all([probe.stop(), storm.stop()]);
    await sys.stop();
  }
}
