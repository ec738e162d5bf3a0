import { createClient } from "@connectrpc/connect";
import { createTokenVerifier } from "@messenger/auth";
import { createNatsBus, createNatsSessionRegistry, type JetStreamReplication } from "@messenger/bus";
import { parseEnv } from "@messenger/config";
import { RelationsService } from "@messenger/proto/accounts/v1/relations_service";
import { peerTransport, runService } from "@messenger/rpc";
import { connect } from "@nats-io/transport-node";
import { createPresenceApp } from "./app.js";
import { presenceEnv } from "./env.js";
import { createNatsAnnounceBoard } from "./storage/nats-announce-board.js";
import { createNatsLastSeenStore } from "./storage/nats-last-seen-store.js";

await runService("presence", () => parseEnv(presenceEnv), async (config, { log }) => {
  const nc = await connect({ servers: config.NATS_URL.split(","), name: "presence", maxReconnectAttempts: -1, reconnectTimeWait: 250 });
  const replication: JetStreamReplication = { replicas: config.NATS_JETSTREAM_REPLICAS, onRaised: (r) => log.info(r, "JetStream replicas raised") };
  const registry = await createNatsSessionRegistry(nc, {
    ttlMs: 3 * config.HEARTBEAT_INTERVAL_MS,
    mirrorDelayMs: config.REGISTRY_MIRROR_DELAY_MS,
    onError: (err, what) => log.warn({ err }, what),
    replication,
  });
  const lastSeen = await createNatsLastSeenStore(nc, { replication });
  const board = await createNatsAnnounceBoard(nc, { replication });
  const app = createPresenceApp({
    registry,
    bus: createNatsBus(nc, (err) => log.warn({ err }, "NATS status watch failed")),
    relations: createClient(RelationsService, peerTransport(config.ACCOUNTS_URL)),
    lastSeen,
    verifier: createTokenVerifier({ jwksUrl: config.JWKS_URL }),
    log,
    sweepIntervalMs: Math.max(250, Math.floor(config.HEARTBEAT_INTERVAL_MS / 2)),
    announceWindowMs: config.PRESENCE_ANNOUNCE_WINDOW_MS,
    board,
  });
  return {
    routes: app.routes,
    async close() {
      await app.close();
      await board.close();
      await lastSeen.close();
      await registry.close();
      await nc.drain();
    },
  };
});
