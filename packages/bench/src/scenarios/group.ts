import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { AccountsService } from "@messenger/proto/accounts/v1/accounts_service";
import { GroupService } from "@messenger/proto/groups/v1/group_service";
import { spawnSystem, startCluster } from "@messenger/testing";
import { baselines, collectCpu, messageBytes, type Round } from "../baselines.js";
import { CpuMeter } from "../process-stats.js";
import { appendRowsPerMessage, clusterStoreCounters, oneProcessStoreCounters, type StoreCounters } from "../store-counters.js";
import type { Figure } from "../report.js";
import type { ScenarioContext } from "../scenario.js";
import { median, quantile } from "../stats.js";
import { WorkerProcess } from "../worker-host.js";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const nowUs = (): number => {
  const [s, ns] = process.hrtime();
  return s * 1e6 + Math.floor(ns / 1000);
};

/** Above MAX_GROUP_MEMBERS (1024): no group of the run is "large", so every member gets full message pushes. */
const largeGroupThreshold = 1024;
/** The system's default LARGE_GROUP_THRESHOLD, for the large-group run. */
const defaultLargeGroupThreshold = 256;
const heartbeatMs = 30_000;
/** In the receipts runs each member acks delivery every 8th message, as chat-pairs does. */
const ackEvery = 8;
/**
 * Members that also send: 8, spread over the generator processes, and never more than half
 * the group (a member's own sends move its receipts, so its acks would move nothing).
 */
const senderCount = (n: number): number => Math.min(8, Math.floor(n / 2));

interface Target {
  readonly name: string;
  urls: string[];
  pids: Record<string, number>;
  store(): Promise<StoreCounters>;
  /** Restarts the system on the same data with more environment (the one-process system only). */
  restart?(extra: Record<string, string>): Promise<void>;
  stop(): Promise<void>;
}

const env = {
  SCRYPT_LOG_N: "12",
  HEARTBEAT_INTERVAL_MS: String(heartbeatMs),
  LOG_LEVEL: "warn",
  OUTBOUND_QUEUE_LIMIT: "100000",
  LARGE_GROUP_THRESHOLD: String(largeGroupThreshold),
};

/** The one-process system on a data directory of its own, so that it can restart on it. */
async function oneProcess(): Promise<Target> {
  const dataDir = mkdtempSync(join(tmpdir(), "bench-group-"));
  let stopping = false;
  const launch = async (e: Record<string, string>): Promise<Awaited<ReturnType<typeof spawnSystem>>> => {
    const sys = await spawnSystem({ ...e, DATA_DIR: dataDir });
    // Its last words, should it die under the load.
    const tail: string[] = [];
    sys.child.stderr?.on("data", (d: Buffer) => {
      if (process.env.BENCH_GROUP_SERVER_LOG) process.stderr.write(d);
      tail.push(d.toString());
      if (tail.length > 40) tail.shift();
    });
    sys.child.once("exit", (code, signal) => {
      if (!stopping) console.error(`one-process system exited (${code ?? signal}) during the group scenario:\n${tail.join("")}`);
    });
    return sys;
  };
  let sys = await launch(env);
  const target: Target = {
    name: "one process",
    urls: [sys.grpcUrl],
    pids: { server: sys.child.pid! },
    store: () => oneProcessStoreCounters(sys.httpPort),
    async restart(extra) {
      stopping = true;
      await sys.stop();
      stopping = false;
      sys = await launch({ ...env, ...extra });
      target.urls = [sys.grpcUrl];
      target.pids = { server: sys.child.pid! };
    },
    async stop() {
      stopping = true;
      await sys.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return target;
}

async function cluster(): Promise<Target> {
  const c = await startCluster({ gateways: 2, env });
  const pids: Record<string, number> = {};
  for (const p of [c.accounts, c.store, c.presence, c.router, c.groups, ...c.gateways]) pids[p.name] = p.child.pid!;
  return { name: "cluster, 2 gateways", urls: c.gatewayUrls(), pids, store: () => clusterStoreCounters(c), stop: () => c.stop() };
}

/** Runs `fn` over `items` with at most `limit` calls in flight; results in order. */
async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}

/** Registers and logs in `count` users through AccountsService, concurrently in batches. */
async function createUsers(urls: string[], count: number, prefix: string): Promise<{ ids: string[]; tokens: string[] }> {
  const clients: Client<typeof AccountsService>[] = urls.map((baseUrl) => createClient(AccountsService, createGrpcTransport({ baseUrl })));
  const names = Array.from({ length: count }, (_, i) => `${prefix}${i}`);
  const password = "bench password";
  const ids = await pool(names, 32, async (username, i) => (await clients[i % clients.length]!.register({ username, password })).user!.id);
  const tokens = await pool(names, 32, async (username, i) => (await clients[i % clients.length]!.login({ username, password, deviceId: "bench" })).tokens!.accessToken);
  return { ids, tokens };
}

interface Measured {
  deliveriesPerSecond: number;
  messagesPerSecond: number;
  /** Sends answered as stored per second (the large-group run, where members get no messages). */
  storedPerSecond: number;
  receiptsPerSecond: number;
  signalsPerSecond: number;
  /** Send→last-member latency (µs) of each message sent in the window that reached every member. */
  lastMemberUs: number[];
  /** Send→first-member latency (µs) of the same messages. */
  firstMemberUs: number[];
  /** Send→sendResult (stored) latency (µs) of the messages sent in the window. */
  storedUs: number[];
  /** Messages sent in the window that had not reached every member when the drain ended. */
  incomplete: number;
  /** Δrows_written{kind="append"} / Δmessages_stored over the round. */
  rowsPerMessage: number;
  /** Δrows_written{kind="updateCursor"} / Δmessages_stored over the round (receipts). */
  cursorRowsPerMessage: number;
  /** From the end of the window until the last send was answered and every delivery (and receipt) arrived. */
  drainMs: number;
  cpu: Record<string, number>;
}

interface Totals {
  sentOk: number;
  sendErrors: number;
  received: number;
  receipts: number;
  sessionsEnded: number;
  frameErrors: number;
}

const sum = <T>(xs: readonly T[], f: (x: T) => number): number => xs.reduce((a, x) => a + f(x), 0);
const ms = (us: readonly number[], q: number): number => quantile(us, q) / 1000;

/**
 * Groups of 10, 100 and 1,000 members (quick: 10 and 100) on the one-process system and on
 * the local cluster with two gateways:
 * 1. deliveries per second at saturation: message frames received by the member sessions,
 *    i.e. messages × members reached (the sender's own session is not sent its message);
 * 2. send→LAST-member latency p50/p99 at a fixed rate of half that: per message, the
 *    largest send→receive time over all its recipients, merged over the generator
 *    processes (they share the machine's monotonic clock);
 * 3. store rows written per message: Δrows_written{kind="append"} / Δmessages_stored.
 * Members are raw gRPC Session streams (no SDK), one HTTP/2 connection each, pinging, spread
 * over several load-generator processes and, in the cluster, half on each gateway. These
 * runs have no delivered acks, so they measure the message fan-out alone; the group of 10
 * also gets saturation runs with every member acking every 8th message (receipts on, as in
 * the 1:1 chat scenario): a small group pushes each member's receipt to every member.
 * LARGE_GROUP_THRESHOLD is 1024 for these runs, so a group of 1,000 gets full message pushes;
 * then (full run, one-process system) the system restarts on the same data with the default
 * threshold, 256, for the large-group mode: messages stored per second and the
 * conversation_updated signals the members receive.
 */
export async function group(ctx: ScenarioContext): Promise<Figure[]> {
  const sizes = process.env.BENCH_GROUP_SIZES ? process.env.BENCH_GROUP_SIZES.split(",").map(Number) : ctx.quick ? [10, 100] : [10, 100, 1_000];
  // Groups that also get the saturation runs with receipts on. From 100 members on, the
  // receipts pile up faster than they are pushed, and take many seconds to drain after each
  // round, so they are left out of the timed run (BENCH_GROUP_RECEIPT_SIZES=10,100 adds them).
  const receiptSizes = (process.env.BENCH_GROUP_RECEIPT_SIZES ?? "10").split(",").map(Number);
  const seconds = ctx.quick ? 2 : 3;
  const rounds = ctx.quick ? ctx.rounds : Math.min(3, ctx.rounds);
  const maxN = Math.max(...sizes);
  // Sessions per generator process stay a few hundred (one HTTP/2 connection each).
  const workerCount = maxN > 300 ? 4 : 2;
  const figures: Figure[] = [];
  // Measured here only when the chat scenario has not measured them already in this run.
  const { echoRate, natsRate, figures: baselineFigures } = await baselines(ctx, { rounds, seconds });
  figures.push(...baselineFigures);

  const targets = process.env.BENCH_GROUP_TARGETS === "one" ? [oneProcess] : process.env.BENCH_GROUP_TARGETS === "cluster" ? [cluster] : [oneProcess, cluster];
  for (const start of targets) {
    const target = await start();
    const workers = Array.from({ length: workerCount }, (_, i) => WorkerProcess.start(`members-${i + 1}`, "group-members"));
    try {
      const t0 = Date.now();
      const users = await createUsers(target.urls, maxN, `g${Date.now() % 1e7}u`);
      ctx.log(`${target.name}: ${maxN} users registered and logged in in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      // Member i is on gateway i mod G (each gateway holds half the members) and in
      // generator ⌊i / G⌋ mod W (each generator holds members on every gateway).
      const openSessions = (from: number, to: number): Promise<unknown> =>
        Promise.all(
          workers.map((w, k) => {
            const g = target.urls.length;
            const sessions = [];
            for (let i = from; i < to; i++) {
              if (Math.floor(i / g) % workerCount === k) sessions.push({ index: i, url: target.urls[i % g]!, token: users.tokens[i]! });
            }
            return w.request("open", { sessions, heartbeatMs, tag: `w${k}` });
          }),
        );
      let conversationId = "";
      let senderIndexes: number[] = [];
      let acking = false;
      const use = (ack: number): Promise<unknown> => {
        acking = ack > 0;
        return Promise.all(workers.map((w) => w.request("use", { conversationId, senderIndexes, ack, messageBytes })));
      };
      const totals = (): Promise<Totals[]> => Promise.all(workers.map((w) => w.request<Totals>("totals")));

      /** One round: warm up, measure `seconds`, stop the senders, drain. */
      const measure = async (n: number, framesPerMessage: number, begin: () => Promise<unknown>, trackLatency: boolean): Promise<Measured> => {
        const pids = { ...target.pids, ...Object.fromEntries(workers.map((w) => [w.name, w.pid])) };
        const s0 = await target.store();
        await begin();
        await sleep(500);
        const meter = new CpuMeter(pids);
        // Tracking starts a little ahead, so that every generator process tracks each message from its first delivery.
        const since = nowUs() + 50_000;
        await Promise.all(workers.map((w) => w.request("record", { since, latency: trackLatency })));
        await sleep(seconds * 1000);
        const until = nowUs();
        const snaps = await Promise.all(workers.map((w) => w.request<{ deliveries: number; receipts: number; signals: number; stored: number }>("snapshot")));
        const cpu = meter.read();
        const stoppedAt = Date.now();
        await Promise.all(workers.map((w) => w.request("stop")));
        // Drain: every stored message must reach every other member before the next round,
        // and the receipts they caused must have stopped arriving.
        const drainEnd = Date.now() + 30_000;
        let t = await totals();
        let lastReceipts = -1;
        for (;;) {
          const missing = sum(t, (x) => x.sentOk) * framesPerMessage - sum(t, (x) => x.received);
          const receipts = sum(t, (x) => x.receipts);
          if (missing <= 0 && (!acking || receipts === lastReceipts)) break;
          if (Date.now() > drainEnd) {
            ctx.log(`WARNING ${target.name}: group of ${n}: ${missing} deliveries missing 30 s after the senders stopped`);
            break;
          }
          lastReceipts = missing <= 0 ? receipts : -1;
          await sleep(missing <= 0 ? 200 : 50);
          t = await totals();
        }
        const drainMs = Date.now() - stoppedAt;
        if (sum(t, (x) => x.sendErrors + x.sessionsEnded + x.frameErrors) > 0) {
          ctx.log(`WARNING ${target.name}: group of ${n}: send errors ${sum(t, (x) => x.sendErrors)}, sessions ended ${sum(t, (x) => x.sessionsEnded)}, frame errors ${sum(t, (x) => x.frameErrors)}`);
        }
        const lastMemberUs: number[] = [];
        const firstMemberUs: number[] = [];
        const storedUs: number[] = [];
        let incomplete = 0;
        if (trackLatency) {
          const merged = new Map<string, { maxUs: number; count: number; minUs: number }>();
          for (const r of await Promise.all(workers.map((w) => w.request<{ entries: [string, number, number, number][]; storedUs: number[] }>("latencies", { until })))) {
            storedUs.push(...r.storedUs);
            for (const [cid, maxUs, count, minUs] of r.entries) {
              const e = merged.get(cid);
              if (!e) merged.set(cid, { maxUs, count, minUs });
              else {
                e.count += count;
                e.maxUs = Math.max(e.maxUs, maxUs);
                e.minUs = Math.min(e.minUs, minUs);
              }
            }
          }
          for (const e of merged.values()) {
            if (e.count >= framesPerMessage) {
              lastMemberUs.push(e.maxUs);
              firstMemberUs.push(e.minUs);
            } else incomplete++;
          }
        }
        const s1 = await target.store();
        const deliveries = sum(snaps, (x) => x.deliveries);
        return {
          deliveriesPerSecond: deliveries / seconds,
          messagesPerSecond: framesPerMessage > 0 ? deliveries / framesPerMessage / seconds : 0,
          storedPerSecond: sum(snaps, (x) => x.stored) / seconds,
          receiptsPerSecond: sum(snaps, (x) => x.receipts) / seconds,
          signalsPerSecond: sum(snaps, (x) => x.signals) / seconds,
          lastMemberUs,
          firstMemberUs,
          storedUs,
          incomplete,
          rowsPerMessage: appendRowsPerMessage(s0, s1),
          cursorRowsPerMessage: (s1.updateCursor - s0.updateCursor) / (s1.messages - s0.messages),
          drainMs,
          cpu,
        };
      };

      let opened = 0;
      for (const n of sizes) {
        // Sessions of members [opened, n) join those already open (the groups are nested).
        const t1 = Date.now();
        await openSessions(opened, n);
        opened = n;
        const created = await createClient(GroupService, createGrpcTransport({ baseUrl: target.urls[0]! })).createGroup(
          { title: `bench group of ${n}`, memberUserIds: users.ids.slice(1, n) },
          { headers: { authorization: `Bearer ${users.tokens[0]}` } },
        );
        conversationId = created.conversation!.id;
        senderIndexes = Array.from({ length: senderCount(n) }, (_, i) => i);
        ctx.log(`${target.name}: group of ${n}: ${n} sessions open, group created in ${((Date.now() - t1) / 1000).toFixed(1)} s`);
        const recipients = n - 1;
        // Messages in flight at saturation over all senders: a deep pipeline (the servers
        // batch what arrives in one turn) of up to ~32k deliveries, 16..512 messages.
        const inFlight = Number(process.env.BENCH_GROUP_INFLIGHT ?? 0) || Math.min(512, Math.max(16, Math.round(32_000 / recipients)));
        const window = Math.max(1, Math.ceil(inFlight / senderIndexes.length));
        const saturate = (): Promise<unknown> => Promise.all(workers.map((w) => w.request("saturate", { window })));
        const label = `${target.name}: group of ${n.toLocaleString("en-US")}`;
        const traffic = `group of ${n.toLocaleString("en-US")}, no acks`;
        const rows: number[] = [];

        // (1) Saturation, the message fan-out alone.
        await use(0);
        const saturation: Round[] = [];
        const messages: number[] = [];
        for (let r = 0; r < rounds; r++) {
          const m = await measure(n, recipients, saturate, false);
          saturation.push({ value: m.deliveriesPerSecond, cpu: m.cpu });
          messages.push(m.messagesPerSecond);
          rows.push(m.rowsPerMessage);
          ctx.log(`${label} saturation round ${r + 1}: ${m.deliveriesPerSecond.toFixed(0)} deliveries/s (${m.messagesPerSecond.toFixed(0)} msgs/s), ${m.rowsPerMessage.toFixed(2)} append rows/msg; drained in ${(m.drainMs / 1000).toFixed(1)} s`);
        }
        const sat = median(saturation.map((r) => r.value));

        // (2) Send→last member at half the saturation rate, one message per send.
        const rate = sat / 2 / recipients;
        const lat: { p50: number[]; p99: number[]; cpu: Round[] } = { p50: [], p99: [], cpu: [] };
        const first50: number[] = [];
        const stored50: number[] = [];
        let samples = 0;
        let incomplete = 0;
        for (let r = 0; r < rounds; r++) {
          const m = await measure(n, recipients, () => Promise.all(workers.map((w) => w.request("rate", { perSecond: rate / workers.length }))), true);
          lat.p50.push(ms(m.lastMemberUs, 0.5));
          lat.p99.push(ms(m.lastMemberUs, 0.99));
          first50.push(ms(m.firstMemberUs, 0.5));
          stored50.push(ms(m.storedUs, 0.5));
          lat.cpu.push({ value: 0, cpu: m.cpu });
          rows.push(m.rowsPerMessage);
          samples += m.lastMemberUs.length;
          incomplete += m.incomplete;
          ctx.log(
            `${label} latency round ${r + 1} at ${rate.toFixed(0)} msgs/s: ${m.lastMemberUs.length} msgs, send→last member p50 ${lat.p50.at(-1)!.toFixed(2)} ms, p99 ${lat.p99.at(-1)!.toFixed(2)} ms; send→first member p50 ${first50.at(-1)!.toFixed(2)} ms; send→stored (sendResult) p50 ${stored50.at(-1)!.toFixed(2)} ms${m.incomplete ? `; ${m.incomplete} msgs did not reach every member` : ""}`,
          );
        }

        // (3) Saturation with receipts on.
        const withReceipts: Round[] = [];
        const receiptFrames: number[] = [];
        const cursorRows: number[] = [];
        const drains: number[] = [];
        if (receiptSizes.includes(n)) {
          await use(ackEvery);
          for (let r = 0; r < rounds; r++) {
            const m = await measure(n, recipients, saturate, false);
            withReceipts.push({ value: m.deliveriesPerSecond, cpu: m.cpu });
            receiptFrames.push(m.receiptsPerSecond);
            cursorRows.push(m.cursorRowsPerMessage);
            drains.push(m.drainMs / 1000);
            rows.push(m.rowsPerMessage);
            ctx.log(
              `${label} saturation with acks every ${ackEvery}th msg, round ${r + 1}: ${m.deliveriesPerSecond.toFixed(0)} deliveries/s (${m.messagesPerSecond.toFixed(0)} msgs/s) + ${m.receiptsPerSecond.toFixed(0)} receipt frames/s; ${m.rowsPerMessage.toFixed(2)} append + ${m.cursorRowsPerMessage.toFixed(2)} cursor rows/msg; drained ${(m.drainMs / 1000).toFixed(1)} s after the senders stopped`,
            );
          }
        }

        const fullPushes = n > defaultLargeGroupThreshold ? `; LARGE_GROUP_THRESHOLD=${largeGroupThreshold}, so full message pushes, not the large-group signal` : "";
        figures.push({
          scenario: "group",
          name: `${label}: saturation, deliveries = msgs × ${recipients} members reached, no acks`,
          unit: "deliveries/s",
          rounds: saturation.map((r) => r.value),
          cpu: collectCpu(saturation),
          baseline: { name: "raw echo", value: echoRate },
          note: `${median(messages).toFixed(0)} msgs/s stored and fanned out${fullPushes}${target.name.startsWith("cluster") ? `; raw NATS ${natsRate.toFixed(0)} msgs/s` : ""}`,
          compare: { target: target.name, traffic, metric: "delivered/s" },
        });
        figures.push({ scenario: "group", name: `${label}: saturation, messages stored and fanned out`, unit: "msgs/s", rounds: messages, cpu: collectCpu(saturation), compare: { target: target.name, traffic, metric: "msgs/s" } });
        const cpu = collectCpu(lat.cpu);
        figures.push({
          scenario: "group",
          name: `${label}: send→last member p50 at ${rate.toFixed(rate < 10 ? 1 : 0)} msgs/s (½ saturation)`,
          unit: "ms",
          rounds: lat.p50,
          cpu,
          note: `per msg the max over its ${recipients} recipients, merged over ${workerCount} generator processes; ${samples} msgs${incomplete ? `, ${incomplete} never reached all` : ""}; send→first member p50 ${median(first50).toFixed(1)} ms, send→stored p50 ${median(stored50).toFixed(1)} ms`,
          compare: { target: target.name, traffic, metric: "p50" },
        });
        figures.push({ scenario: "group", name: `${label}: send→last member p99`, unit: "ms", rounds: lat.p99, cpu, compare: { target: target.name, traffic, metric: "p99" } });
        if (withReceipts.length > 0) {
          const trafficR = `group of ${n.toLocaleString("en-US")}, acks every ${ackEvery}th`;
          figures.push({
            scenario: "group",
            name: `${label}: saturation with receipts (each member acks every ${ackEvery}th msg), message deliveries`,
            unit: "deliveries/s",
            rounds: withReceipts.map((r) => r.value),
            cpu: collectCpu(withReceipts),
            baseline: { name: "raw echo", value: echoRate },
            note: `plus ${median(receiptFrames).toFixed(0)} receipt frames/s received by the members; ${median(cursorRows).toFixed(2)} cursor rows/msg; all receipts in ${Math.max(...drains).toFixed(1)} s after the senders stopped`,
            compare: { target: target.name, traffic: trafficR, metric: "delivered/s" },
          });
          figures.push({
            scenario: "group",
            name: `${label}: saturation with receipts, messages stored and fanned out`,
            unit: "msgs/s",
            rounds: withReceipts.map((r) => r.value / recipients),
            cpu: collectCpu(withReceipts),
            compare: { target: target.name, traffic: trafficR, metric: "msgs/s" },
          });
        }
        figures.push({
          scenario: "group",
          name: `${label}: store rows written per message`,
          unit: "rows/msg",
          rounds: rows,
          cpu: {},
          note: `Δrows_written{kind="append"} / Δmessages_stored, one value per round of every run above`,
          compare: { target: target.name, traffic, metric: "rows/msg" },
        });
      }

      // (4) Large-group mode: the largest group again, on the same data, with the default
      // threshold, so its members get conversation_updated signals instead of messages.
      if (target.restart && maxN > defaultLargeGroupThreshold && process.env.BENCH_GROUP_LARGE !== "0") {
        const n = maxN;
        // Everything received is acknowledged first, so the new sessions replay nothing.
        await Promise.all(workers.map((w) => w.request("ackAll")));
        await sleep(1_000);
        await Promise.all(workers.map((w) => w.request("close")));
        await target.restart({ LARGE_GROUP_THRESHOLD: String(defaultLargeGroupThreshold) });
        await openSessions(0, n);
        senderIndexes = Array.from({ length: senderCount(n) }, (_, i) => i);
        await use(0);
        const window = 32;
        const label = `${target.name}: group of ${n.toLocaleString("en-US")}, large-group mode (LARGE_GROUP_THRESHOLD=${defaultLargeGroupThreshold})`;
        const stored: Round[] = [];
        const signals: number[] = [];
        const rows: number[] = [];
        for (let r = 0; r < rounds; r++) {
          const m = await measure(n, 0, () => Promise.all(workers.map((w) => w.request("saturate", { window, untilStored: true }))), false);
          stored.push({ value: m.storedPerSecond, cpu: m.cpu });
          signals.push(m.signalsPerSecond);
          rows.push(m.rowsPerMessage);
          ctx.log(`${label} saturation round ${r + 1}: ${m.storedPerSecond.toFixed(0)} msgs/s stored, ${m.signalsPerSecond.toFixed(0)} conversation_updated signals/s received, ${m.deliveriesPerSecond.toFixed(0)} message frames/s, ${m.rowsPerMessage.toFixed(2)} append rows/msg`);
        }
        const traffic = `group of ${n.toLocaleString("en-US")}, large-group mode`;
        figures.push({
          scenario: "group",
          name: `${label}: saturation, messages stored (${senderIndexes.length} senders × ${window} in flight)`,
          unit: "msgs/s",
          rounds: stored.map((r) => r.value),
          cpu: collectCpu(stored),
          note: `the ${n - 1} other members get conversation_updated signals, not the messages`,
          compare: { target: target.name, traffic, metric: "msgs/s" },
        });
        figures.push({
          scenario: "group",
          name: `${label}: conversation_updated signals received`,
          unit: "signals/s",
          rounds: signals,
          cpu: collectCpu(stored),
          note: `coalesced by the gateway to at most one per conversation per session per CONVERSATION_UPDATE_WINDOW_MS (250 ms)`,
        });
        figures.push({ scenario: "group", name: `${label}: store rows written per message`, unit: "rows/msg", rounds: rows, cpu: {}, note: `Δrows_written{kind="append"} / Δmessages_stored`, compare: { target: target.name, traffic, metric: "rows/msg" } });
      }
      await Promise.all(workers.map((w) => w.request("close")));
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
      await target.stop();
    }
  }
  return figures;
}
