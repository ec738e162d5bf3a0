// `npm run cluster [-- options]`: the whole system as separate processes on this machine
// (nats-server from the Debian package, one process per service, N gateways on
// 127.0.0.1:50051, 50052, ...), its data kept in DATA_DIR (default ./data-cluster) across
// runs. Ctrl-C, SIGTERM or SIGHUP stops every process it started, in order, each with its
// drain; a second one kills them at once.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { natsServerBinary, startCluster } from "@messenger/testing";

/** Where the cluster keeps its data when DATA_DIR is unset: apart from `npm start`'s ./data. */
const defaultDataDir = "./data-cluster";

const usage = `usage: npm run cluster [-- options]
  --gateways N     gateways to start, 1 to 64 (default 2)
  --base-port P    the first gateway's gRPC port; the others follow (default 50051)
  --temp           keep the data in a temporary directory, deleted on stop
  --quiet          do not print the services' logs
  --help           this text

Data (accounts, history, the NATS JetStream store) is kept in DATA_DIR (default
${defaultDataDir}), so a stop and a start keep users and messages; delete the directory to
start afresh. Ctrl-C stops the gateways first (clients get go_away), then the other
services, nats-server last; a second Ctrl-C kills everything at once.`;

function args(): { gateways: string; "base-port": string; temp: boolean; quiet: boolean; help: boolean } {
  try {
    const { values } = parseArgs({
      options: {
        gateways: { type: "string", default: "2" },
        "base-port": { type: "string", default: "50051" },
        temp: { type: "boolean", default: false },
        quiet: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
    return values;
  } catch (err) {
    console.error(`${err instanceof Error ? err.message : String(err)}\n${usage}`);
    process.exit(2);
  }
}

const values = args();
if (values.help) {
  console.log(usage);
  process.exit(0);
}
const n = Number(values.gateways);
const basePort = Number(values["base-port"]);
if (!Number.isInteger(n) || n < 1 || n > 64) {
  console.error("--gateways must be an integer from 1 to 64");
  process.exit(2);
}
if (!Number.isInteger(basePort) || basePort < 1 || basePort + n - 1 > 65535) {
  console.error("--base-port must be a port number that leaves room for every gateway");
  process.exit(2);
}
if (!existsSync(natsServerBinary)) {
  console.error(`nats-server not found at ${natsServerBinary}. Install it with: sudo apt-get install nats-server`);
  process.exit(1);
}
const dataDir = values.temp ? undefined : resolve(process.env.DATA_DIR || defaultDataDir);

// Signals that come while the cluster starts stop it as soon as it is up (or kill it, if
// they come twice); the services and nats-server are in process groups of their own, so a
// Ctrl-C reaches only this process. A repeat within a second is the same Ctrl-C relayed by
// a wrapper (tsx's CLI relays a signal its child did not acknowledge within 30 ms).
const repeatGraceMs = 1_000;
let signals = 0;
let firstSignalAt = 0;
let stopNow: (() => void) | undefined;
const onSignal = (): void => {
  if (signals > 0 && Date.now() - firstSignalAt < repeatGraceMs) return;
  if (signals === 0) firstSignalAt = Date.now();
  signals++;
  if (signals > 1) {
    console.log("killing every process of the cluster");
    // The exit handlers of @messenger/testing kill every child still running.
    process.exit(1);
  }
  stopNow?.();
};
for (const s of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(s, onSignal);

const cluster = await startCluster({
  gateways: n,
  gatewayPorts: Array.from({ length: n }, (_, i) => basePort + i),
  ...(dataDir ? { dataDir } : {}),
  productionLimits: true,
  onLog: values.quiet ? undefined : (name, line) => process.stdout.write(`${name.padEnd(10)} ${line}\n`),
}).catch((err: unknown) => {
  // Whatever had started is stopped already.
  console.error(`the cluster did not start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
const row = (name: string, detail: string): void => void console.log(`  ${name.padEnd(12)} ${detail}`);
console.log("\nmessenger cluster is up:");
row("data", dataDir ? `${cluster.dataDir} (DATA_DIR; kept across runs)` : `${cluster.dataDir} (temporary: deleted on stop)`);
row("nats", `${cluster.nats.url}, pid ${cluster.nats.pid}`);
for (const p of [cluster.accounts, cluster.store, cluster.presence, cluster.media, cluster.router, cluster.groups, ...cluster.push]) {
  row(p.name, `internal gRPC 127.0.0.1:${p.internalGrpcPort}${p.grpcPort ? `, public gRPC 127.0.0.1:${p.grpcPort}` : ""}, http://127.0.0.1:${p.httpPort} (/metrics), pid ${p.child.pid}`);
}
for (const g of cluster.gateways) row(g.name, `gRPC 127.0.0.1:${g.grpcPort} (clients connect here), http://127.0.0.1:${g.httpPort} (/metrics), pid ${g.child.pid}`);
console.log(`\nChat: npm run chat -- chat <you> <peer> --url ${cluster.gatewayUrls().join(",")}\nCtrl-C stops everything.\n`);

stopNow = (): void => {
  console.log("stopping the cluster: gateways, then groups, router, push, media, presence, store, accounts, nats-server (Ctrl-C again kills them at once) ...");
  cluster.stop().then(
    () => {
      const services = [...cluster.gateways, cluster.groups, cluster.router, ...cluster.push, cluster.media, cluster.presence, cluster.store, cluster.accounts];
      const unclean = services.filter((p) => p.child.exitCode !== 0);
      for (const p of unclean) console.error(`${p.name} did not stop cleanly (exit ${p.child.exitCode ?? p.child.signalCode}); see its log`);
      console.log("stopped");
      process.exit(unclean.length > 0 ? 1 : 0);
    },
    (err: unknown) => {
      console.error(`stop failed: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
};
if (signals > 0) stopNow();
