// Measures gateway failover on a local cluster: N clients split over two gateways; SIGTERM
// (drain) one and time until all of its clients resumed on the other; then SIGKILL (crash)
// that one and time the same. Prints the figures; used for the cluster issue's notes until
// `npm run bench` covers it.
import { parseArgs } from "node:util";
import { MessengerClient } from "@messenger/sdk";
import { startCluster } from "@messenger/testing";
import { newUser } from "@messenger/test-system";

const { values } = parseArgs({ options: { clients: { type: "string", default: "200" } } });
const n = Number(values.clients);
const cluster = await startCluster({ gateways: 2, env: { HEARTBEAT_INTERVAL_MS: "1000", SCRYPT_LOG_N: "10", LOG_LEVEL: "warn" } });
try {
  const urls = cluster.gatewayUrls();
  const clients: MessengerClient[] = [];
  for (let i = 0; i < n; i++) {
    const seed = await newUser(urls[i % 2]!);
    const name = seed.user!.username;
    await seed.close();
    const order = i % 2 === 0 ? urls : [...urls].reverse();
    const c = new MessengerClient({ url: order, deviceId: "phone", reconnectBaseMs: 100, reconnectMaxMs: 2000 });
    await c.login(name, "correct horse battery");
    clients.push(c);
  }
  await Promise.all(clients.map((c) => c.connect()));
  const onGateway = (i: number): MessengerClient[] => clients.filter((c) => c.currentUrl === urls[i]);
  const timeResume = async (moved: MessengerClient[], act: () => Promise<unknown>): Promise<number> => {
    const synced = moved.map((c) => new Promise<void>((resolve) => c.once("synced", () => resolve())));
    const start = performance.now();
    await act();
    await Promise.all(synced);
    return performance.now() - start;
  };
  const g1 = onGateway(0);
  const drainMs = await timeResume(g1, () => cluster.gateways[0]!.stop("SIGTERM"));
  console.log(`drain: ${g1.length} clients moved from gateway-1 to gateway-2 and resumed in ${drainMs.toFixed(0)} ms (SIGTERM to last sync_complete)`);
  await cluster.gateways[0]!.restart();
  const g2 = onGateway(1);
  const crashMs = await timeResume(g2, () => cluster.gateways[1]!.stop("SIGKILL"));
  console.log(`crash: ${g2.length} clients moved from gateway-2 to gateway-1 and resumed in ${crashMs.toFixed(0)} ms (SIGKILL to last sync_complete)`);
  await Promise.all(clients.map((c) => c.close()));
} finally {
  await cluster.stop();
}
