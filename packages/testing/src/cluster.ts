import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startNatsServer, type NatsServer } from "./nats-server.js";
import { freePort } from "./free-port.js";
import { testLimitsEnv } from "./test-limits.js";

// This file is src/cluster.ts in the sources and dist/src/cluster.js once built.
const repoRoot = fileURLToPath(new URL(import.meta.url.endsWith(".ts") ? "../../../" : "../../../../", import.meta.url));

/**
 * Children still running when this process exits (normally, or on an uncaught error) are
 * killed, so none is left behind: they run in process groups of their own (see launch), so
 * nothing else would stop them.
 */
const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const c of running) c.kill("SIGKILL");
});

/** The services a local cluster runs, one OS process each. */
export type ServiceName = "accounts" | "store" | "presence" | "media" | "router" | "groups" | "push" | "gateway";

/** One service process of a local cluster. */
export interface ServiceProcess {
  readonly name: string;
  readonly service: ServiceName;
  child: ChildProcess;
  grpcPort: number;
  internalGrpcPort: number;
  httpPort: number;
  /** The last lines it logged (JSON), for diagnostics. */
  readonly logs: string[];
  /** Resolves with the exit code once it exited. */
  readonly exited: () => Promise<number | null>;
  /** Sends a signal and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Starts it again on the same ports. */
  restart(): Promise<void>;
  /** Fetches and parses its /metrics: value of a metric (summed over labels matching `labels`). */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
}

/** Options of a local cluster. */
export interface ClusterOptions {
  readonly gateways?: number;
  /**
   * Push worker replicas, sharing the offline queue's consumer group (default 1). 0 starts
   * none, for tests that consume the queue themselves; the gateways then forward
   * PushConfigService to a port nobody listens on (UNAVAILABLE).
   */
  readonly pushWorkers?: number;
  /** Public gRPC ports of the gateways; 0 (any free port) each by default. */
  readonly gatewayPorts?: readonly number[];
  /** Extra environment for every service (e.g. HEARTBEAT_INTERVAL_MS). */
  readonly env?: Record<string, string>;
  /**
   * Keep the services' own abuse limits (what `npm run cluster` runs for people to try);
   * tests and benchmarks, whose clients all come from 127.0.0.1, relax them by default.
   */
  readonly productionLimits?: boolean;
  /** Receives every log line of every service, prefixed with its name. */
  readonly onLog?: (name: string, line: string) => void;
  /** Extra node flags for every service process (for example --cpu-prof). */
  readonly execArgv?: readonly string[];
  /**
   * Where accounts (`accounts/`), history (`store/`) and the NATS JetStream store (`nats/`:
   * session registry, last seen, offline queue) live. Kept by stop(), so a cluster started
   * again on it has the same users and messages. Default: a temporary directory that stop()
   * deletes.
   */
  readonly dataDir?: string;
  /**
   * Run every service from a production tree (scripts/stage-production.mjs output) instead of
   * the TypeScript sources: `node bin/messenger.mjs <service>` in that directory with
   * NODE_OPTIONS=--conditions=compiled, exactly as the image's entry point runs it; no tsx.
   * Default: the sources of this checkout through the tsx loader.
   */
  readonly compiledRoot?: string;
}

/** How a service process is started: from the sources with tsx, or from a compiled tree. */
interface Launcher {
  readonly cwd: string;
  args(service: ServiceName): string[];
  readonly env: Record<string, string>;
}

function launcher(compiledRoot: string | undefined): Launcher {
  if (compiledRoot === undefined) {
    return { cwd: repoRoot, args: (service) => ["--import", "tsx", join(repoRoot, `services/${service}/src/main.ts`)], env: {} };
  }
  return { cwd: compiledRoot, args: (service) => [join(compiledRoot, "bin/messenger.mjs"), service], env: { NODE_OPTIONS: "--conditions=compiled" } };
}

/** A whole system: nats-server plus one process per service and N gateways. */
export interface LocalCluster {
  readonly nats: NatsServer;
  readonly accounts: ServiceProcess;
  readonly store: ServiceProcess;
  readonly presence: ServiceProcess;
  readonly media: ServiceProcess;
  readonly router: ServiceProcess;
  readonly groups: ServiceProcess;
  /** The push worker replicas (`push`, `push-2`, …); the gateways forward PushConfigService to the first. */
  readonly push: ServiceProcess[];
  readonly gateways: ServiceProcess[];
  /** The data directory (see ClusterOptions.dataDir). */
  readonly dataDir: string;
  /** gRPC URLs of the gateways, in order. */
  gatewayUrls(): string[];
  /**
   * Stops every process, each with its graceful drain, in dependency order: the gateways
   * first (their clients get go_away and their sessions are deregistered while the other
   * services still answer), then groups, router, the push workers, media, presence, store
   * and accounts, one after the other (each before the services it calls), and nats-server
   * last, once no service needs it for its own drain. A temporary data directory is deleted.
   */
  stop(): Promise<void>;
}

function startService(
  run: Launcher,
  service: ServiceName,
  name: string,
  env: Record<string, string>,
  onLog?: (name: string, line: string) => void,
  execArgv: readonly string[] = [],
): Promise<ServiceProcess> {
  const logs: string[] = [];
  const proc: ServiceProcess = {
    name,
    service,
    child: undefined as unknown as ChildProcess,
    grpcPort: Number(env.GRPC_PORT ?? 0),
    internalGrpcPort: Number(env.INTERNAL_GRPC_PORT ?? 0),
    httpPort: Number(env.HTTP_PORT ?? 0),
    logs,
    exited: () =>
      new Promise((resolve) => {
        if (proc.child.exitCode !== null || proc.child.signalCode !== null) resolve(proc.child.exitCode);
        else proc.child.once("exit", (code) => resolve(code));
      }),
    async stop(signal = "SIGTERM") {
      const exited = proc.exited();
      proc.child.kill(signal);
      // A process that does not finish its graceful stop in time is killed, and says so.
      const timer = setTimeout(() => {
        onLog?.(name, `did not exit 15 s after ${signal}; killing it`);
        logs.push(`did not exit 15 s after ${signal}`);
        proc.child.kill("SIGKILL");
      }, 15_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    async restart() {
      await launch({ ...env, GRPC_PORT: String(proc.grpcPort), INTERNAL_GRPC_PORT: String(proc.internalGrpcPort), HTTP_PORT: String(proc.httpPort) });
    },
    async metric(metricName, labels = {}) {
      const text = await (await fetch(`http://127.0.0.1:${proc.httpPort}/metrics`)).text();
      let sum = 0;
      for (const line of text.split("\n")) {
        if (!line.startsWith(metricName)) continue;
        const m = /^([a-zA-Z_:][\w:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
        if (!m || m[1] !== metricName) continue;
        const have = Object.fromEntries([...(m[3] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
        if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[4]);
      }
      return sum;
    },
  };
  const launch = (e: Record<string, string>): Promise<void> =>
    new Promise((resolve, reject) => {
      // One process per service (node with the tsx loader, or the compiled dispatcher that
      // imports the service into its own process; no wrapper), so a signal reaches the
      // service itself. Detached: in a process group of its own, so a Ctrl-C in the
      // terminal (SIGINT to the whole foreground group) reaches only the launcher, which
      // stops the services in order instead of all at once.
      // The service stops when its stdin pipe closes (runService's MESSENGER_EXIT_WITH_PARENT):
      // that is what stops it when this launcher dies without running its exit handlers.
      const child = spawn(process.execPath, [...execArgv, ...run.args(service)], {
        cwd: run.cwd,
        env: { ...process.env, LOG_LEVEL: "info", MESSENGER_EXIT_WITH_PARENT: "1", ...run.env, ...e },
        stdio: ["pipe", "pipe", "pipe"],
        detached: true,
      });
      if (child.stdin instanceof Socket) child.stdin.unref();
      proc.child = child;
      running.add(child);
      child.once("exit", () => running.delete(child));
      let buffered = "";
      let started = false;
      const onLine = (line: string): void => {
        logs.push(line);
        if (logs.length > 500) logs.shift();
        onLog?.(name, line);
        if (started) return;
        try {
          const entry = JSON.parse(line) as { msg?: string; grpcPort?: number; internalGrpcPort?: number; httpPort?: number };
          if (entry.msg === "listening") {
            started = true;
            proc.grpcPort = entry.grpcPort ?? 0;
            proc.internalGrpcPort = entry.internalGrpcPort ?? 0;
            proc.httpPort = entry.httpPort ?? 0;
            resolve();
          }
        } catch {
          // not a JSON log line
        }
      };
      child.stdout?.on("data", (d: Buffer) => {
        buffered += d.toString();
        let nl: number;
        while ((nl = buffered.indexOf("\n")) >= 0) {
          onLine(buffered.slice(0, nl));
          buffered = buffered.slice(nl + 1);
        }
      });
      child.stderr?.on("data", (d: Buffer) => {
        for (const line of d.toString().split("\n")) if (line) onLine(line);
      });
      child.once("exit", (code) => {
        if (!started) reject(new Error(`${name} exited with ${code} before listening:\n${logs.slice(-20).join("\n")}`));
      });
    });
  return launch(env).then(() => proc);
}

/**
 * Starts the system as a real distributed system on this machine: a nats-server with
 * JetStream on a free port, then accounts, store, presence, media, router, groups, the push
 * worker(s) and N gateways, each its own process, talking gRPC and NATS exactly as in production.
 */
export async function startCluster(opts: ClusterOptions = {}): Promise<LocalCluster> {
  const temporary = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), "messenger-cluster-"));
  mkdirSync(dataDir, { recursive: true });
  const removeTemporary = (): void => {
    if (temporary) rmSync(dataDir, { recursive: true, force: true });
  };
  const nats = await startNatsServer({ storeDir: join(dataDir, "nats") });
  const started: ServiceProcess[] = [];
  const base = { LOG_LEVEL: "info", ...(opts.productionLimits ? {} : testLimitsEnv()), ...opts.env };
  const url = (p: number): string => `http://127.0.0.1:${p}`;
  const run = launcher(opts.compiledRoot);
  try {
    // Accounts calls the store and presence (blocks and contacts; who may see whom), which
    // both call accounts (relations): their internal ports are chosen first so accounts can
    // be told them.
    const storeInternalPort = await freePort();
    let presenceInternalPort = await freePort();
    while (presenceInternalPort === storeInternalPort) presenceInternalPort = await freePort();
    const accounts = await startService(
      run,
      "accounts",
      "accounts",
      { ...base, DATA_DIR: join(dataDir, "accounts"), STORE_URL: url(storeInternalPort), PRESENCE_URL: url(presenceInternalPort) },
      opts.onLog,
      opts.execArgv,
    );
    started.push(accounts);
    const jwks = `${url(accounts.httpPort)}/.well-known/jwks.json`;
    const store = await startService(
      run,
      "store",
      "store",
      { ...base, DATA_DIR: join(dataDir, "store"), INTERNAL_GRPC_PORT: String(storeInternalPort), JWKS_URL: jwks, ACCOUNTS_URL: url(accounts.internalGrpcPort) },
      opts.onLog,
      opts.execArgv,
    );
    started.push(store);
    const [presence, media] = await Promise.all([
      startService(run, "presence", "presence", { ...base, INTERNAL_GRPC_PORT: String(presenceInternalPort), NATS_URL: nats.url, ACCOUNTS_URL: url(accounts.internalGrpcPort), JWKS_URL: jwks }, opts.onLog, opts.execArgv),
      startService(run, "media", "media", { ...base, DATA_DIR: join(dataDir, "media"), STORE_URL: url(store.internalGrpcPort), JWKS_URL: jwks }, opts.onLog, opts.execArgv),
    ]);
    started.push(presence, media);
    const router = await startService(
      run,
      "router",
      "router",
      { ...base, NATS_URL: nats.url, STORE_URL: url(store.internalGrpcPort), MEDIA_URL: url(media.internalGrpcPort) },
      opts.onLog,
      opts.execArgv,
    );
    started.push(router);
    const groups = await startService(
      run,
      "groups",
      "groups",
      { ...base, STORE_URL: url(store.internalGrpcPort), ROUTER_URL: url(router.internalGrpcPort), ACCOUNTS_URL: url(accounts.internalGrpcPort), JWKS_URL: jwks },
      opts.onLog,
      opts.execArgv,
    );
    started.push(groups);
    // Replicas share DATA_DIR/push: the first start generates the VAPID keys, every replica adopts them.
    const pushEnv = { ...base, NATS_URL: nats.url, ACCOUNTS_URL: url(accounts.internalGrpcPort), STORE_URL: url(store.internalGrpcPort), JWKS_URL: jwks, DATA_DIR: join(dataDir, "push") };
    const push = await Promise.all(Array.from({ length: opts.pushWorkers ?? 1 }, (_, i) => startService(run, "push", i === 0 ? "push" : `push-${i + 1}`, pushEnv, opts.onLog, opts.execArgv)));
    started.push(...push);
    const pushUrl = url(push[0]?.internalGrpcPort ?? (await freePort()));
    const n = opts.gateways ?? 2;
    const gateways = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        startService(
          run,
          "gateway",
          `gateway-${i + 1}`,
          {
            ...base,
            GATEWAY_ID: `gw-${i + 1}`,
            GRPC_PORT: String(opts.gatewayPorts?.[i] ?? 0),
            NATS_URL: nats.url,
            ROUTER_URL: url(router.internalGrpcPort),
            STORE_URL: url(store.internalGrpcPort),
            PRESENCE_URL: url(presence.internalGrpcPort),
            ACCOUNTS_URL: url(accounts.internalGrpcPort),
            GROUPS_URL: url(groups.internalGrpcPort),
            MEDIA_URL: url(media.internalGrpcPort),
            PUSH_URL: pushUrl,
            JWKS_URL: jwks,
          },
          opts.onLog,
          opts.execArgv,
        ),
      ),
    );
    started.push(...gateways);
    return {
      nats,
      accounts,
      store,
      presence,
      media,
      router,
      groups,
      push,
      gateways,
      dataDir,
      gatewayUrls: () => gateways.map((g) => url(g.grpcPort)),
      async stop() {
        await Promise.all(gateways.map((g) => g.stop()));
        for (const s of [groups, router, ...push, media, presence, store, accounts]) await s.stop();
        await nats.stop();
        opts.onLog?.("nats", "nats-server stopped");
        removeTemporary();
      },
    };
  } catch (err) {
    await Promise.all(started.map((s) => s.stop("SIGKILL")));
    await nats.stop();
    removeTemporary();
    throw err;
  }
}
