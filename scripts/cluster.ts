// `npm run cluster [-- --gateways N]`: the whole system as separate processes on this
// machine (nats-server from the Debian package, one process per service, N gateways on
// 127.0.0.1:50051, 50052, ...). Ctrl-C or SIGTERM stops every process it started.
import { parseArgs } from "node:util";
import { natsServerBinary, startCluster } from "@messenger/testing";
import { existsSync } from "node:fs";

const usage = `usage: npm run cluster [-- options]
  --gateways N     gateways to start, 1 to 64 (default 2)
  --base-port P    the first gateway's gRPC port; the others follow (default 50051)
  --quiet          do not print the services' logs
  --help           this text`;

function args(): { gateways: string; "base-port": string; quiet: boolean; help: boolean } {
  try {
    const { values } = parseArgs({
      options: {
        gateways: { type: "string", default: "2" },
        "base-port": { type: "string", default: "50051" },
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
const cluster = await startCluster({
  gateways: n,
  gatewayPorts: Array.from({ length: n }, (_, i) => basePort + i),
  onLog: values.quiet ? undefined : (name, line) => process.stdout.write(`${name.padEnd(10)} ${line}\n`),
});
const row = (name: string, detail: string): void => void console.log(`  ${name.padEnd(12)} ${detail}`);
console.log("\nmessenger cluster is up:");
row("nats", cluster.nats.url);
for (const [name, p] of [["accounts", cluster.accounts], ["store", cluster.store], ["presence", cluster.presence], ["router", cluster.router], ["groups", cluster.groups]] as const) {
  row(name, `internal gRPC 127.0.0.1:${p.internalGrpcPort}${p.grpcPort ? `, public gRPC 127.0.0.1:${p.grpcPort}` : ""}, http://127.0.0.1:${p.httpPort} (/metrics)`);
}
for (const g of cluster.gateways) row(g.name, `gRPC 127.0.0.1:${g.grpcPort} (clients connect here), http://127.0.0.1:${g.httpPort} (/metrics)`);
console.log("\nChat: npm run chat -- chat <you> <peer> --url http://127.0.0.1:" + cluster.gateways[0]!.grpcPort + "\nCtrl-C stops everything.\n");

let stopping = false;
const stop = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  console.log("stopping the cluster ...");
  await cluster.stop();
  console.log("stopped");
  process.exit(0);
};
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
