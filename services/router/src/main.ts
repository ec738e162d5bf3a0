import { createClient } from "@connectrpc/connect";
import { createJetStreamQueue, createNatsBus, createNatsSessionRegistry, offlineStream, type JetStreamReplication } from "@messenger/bus";
import { parseEnv } from "@messenger/config";
import { StoreService } from "@messenger/proto/store/v1/store_service";
import { peerTransport, runService } from "@messenger/rpc";
import { connect } from "@nats-io/transport-node";
import { MediaRefsService } from "@messenger/proto/media/v1/media_refs_service";
import { createRouterApp } from "./app.js";
import { routerEnv } from "./env.js";

await runService("router", () => parseEnv(routerEnv), async (config, { log, metrics }) => {
  const nc = await connect({ servers: config.NATS_URL.split(","), name: "router", maxReconnectAttempts: -1, reconnectTimeWait: 250 });
  const replication: JetStreamReplication = { replicas: config.NATS_JETSTREAM_REPLICAS, onRaised: (r) => log.info(r, "JetStream replicas raised") };
  const registry = await createNatsSessionRegistry(nc, {
    ttlMs: 3 * config.HEARTBEAT_INTERVAL_MS,
    mirrorDelayMs: config.REGISTRY_MIRROR_DELAY_MS,
    onError: (err, what) => log.warn({ err }, what),
    replication,
  });
  const offline = await createJetStreamQueue(nc, offlineStream, { replication });
  const app = createRouterApp(
    { store: createClient(StoreService, peerTransport(config.STORE_URL)), media: createClient(MediaRefsService, peerTransport(config.MEDIA_URL)), bus: createNatsBus(nc, (err) => log.warn({ err }, "NATS status watch failed")), registry, offline, log, metrics },
    {
      largeGroupThreshold: config.LARGE_GROUP_THRESHOLD,
      largeGroupWindowMs: config.LARGE_GROUP_WINDOW_MS,
      maxDeliveryBacklog: config.MAX_DELIVERY_BACKLOG,
      pushOutboxRelayIntervalMs: config.PUSH_OUTBOX_RELAY_INTERVAL_MS,
      pushOutboxGraceMs: config.PUSH_OUTBOX_GRACE_MS,
      pushOutboxLeaseMs: config.PUSH_OUTBOX_LEASE_MS,
    },
  );
  return {
    routes: app.routes,
    async close() {
      await app.close();
      await registry.close();
      await offline.close();
      await nc.drain();
    },
  };
});
