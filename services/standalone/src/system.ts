import { join } from "node:path";
import { createClient, type Transport } from "@connectrpc/connect";
import { accountsLimits, accountsRepositoryFromEnv, createAccountsApp } from "@messenger/accounts";
import { createTokenIssuer, createTokenVerifier } from "@messenger/auth";
import { createMemoryBus, createMemoryQueue, createMemorySessionRegistry } from "@messenger/bus";
import { createGatewayApp, gatewayLimits, type Gateway } from "@messenger/gateway";
import { createGroupsApp } from "@messenger/groups";
import { createLogger, type Logger } from "@messenger/logging";
import { createMediaAppFromEnv, type MediaApp } from "@messenger/media";
import { createPresenceApp, openSqliteLastSeenStore } from "@messenger/presence";
import { DevicesService } from "@messenger/proto/accounts/v1/devices_service";
import { PushTargetsService } from "@messenger/proto/accounts/v1/push_targets_service";
import { RelationsService } from "@messenger/proto/accounts/v1/relations_service";
import { HistoryService } from "@messenger/proto/history/v1/history_service";
import { MediaRefsService } from "@messenger/proto/media/v1/media_refs_service";
import { PresenceAudienceService, SessionService } from "@messenger/proto/presence/v1/presence_service";
import { RouterService } from "@messenger/proto/router/v1/router_service";
import { StoreService } from "@messenger/proto/store/v1/store_service";
import { createMemorySentMarks, createPushApp, providersFromEnv } from "@messenger/push";
import { createRouterApp, defaultRouterSettings } from "@messenger/router";
import { createDirectTransport, createServiceMetrics, instrumentRoute, opsRoutes, ServingState, startGrpcServer, startHttpServer, type ServiceRoute } from "@messenger/rpc";
import { archiveFromEnv, archiveMetrics, createStoreApp, historyRepositoryFromEnv, retentionMetrics, retentionSweepFromEnv, storeWriteMetrics, type StoreApp } from "@messenger/store";
import type { StandaloneConfig } from "./config.js";

/** The whole system running in this process. */
export interface RunningSystem {
  readonly grpcPort: number;
  readonly httpPort: number;
  readonly gateway: Gateway;
  /** The media service (its cleanup can be run on demand). */
  readonly media: MediaApp;
  /** The message store (its retention pass can be run on demand). */
  readonly store: StoreApp;
  /** Drains the gateway, stops both listeners and closes the stores. */
  stop(): Promise<void>;
}

/** A transport whose target is set after the routes that use it are built. */
function lateBoundTransport(): { transport: Transport; bind(t: Transport): void } {
  let target: Transport | undefined;
  const get = (): Transport => {
    if (!target) throw new Error("transport used before it was bound");
    return target;
  };
  return {
    transport: {
      unary: (...args) => get().unary(...args),
      stream: (...args) => get().stream(...args),
    },
    bind: (t) => (target = t),
  };
}

/**
 * Starts every service in one process: the embedded adapters (SQLite history under
 * DATA_DIR, in-process bus and session registry), in-memory service-to-service calls, and
 * the public services on a native gRPC port and a Connect/gRPC-Web port.
 */
export async function startSystem(config: StandaloneConfig, log: Logger = createLogger("messenger")): Promise<RunningSystem> {
  const issuer = await createTokenIssuer({ keyPath: join(config.DATA_DIR, "keys", "token-signing.jwk.json"), keySetPath: config.TOKEN_SIGNING_KEYS_FILE, ttlSeconds: config.ACCESS_TOKEN_TTL_SECONDS });
  const verifier = createTokenVerifier({ jwks: issuer.jwks() });
  const metrics = createServiceMetrics("messenger");
  const bus = createMemoryBus();
  const registry = createMemorySessionRegistry(3 * config.HEARTBEAT_INTERVAL_MS);
  const internal = lateBoundTransport();
  const relationsClient = createClient(RelationsService, internal.transport);
  const storeClient = createClient(StoreService, internal.transport);

  const accounts = createAccountsApp({
    // MongoDB when MONGODB_URI is set (as history), else DATA_DIR/accounts.db.
    repo: (await accountsRepositoryFromEnv(config, config.DATA_DIR)).repo,
    issuer,
    verifier,
    settings: { scryptLogN: config.SCRYPT_LOG_N, refreshTokenTtlSeconds: config.REFRESH_TOKEN_TTL_SECONDS },
    store: storeClient,
    presence: createClient(PresenceAudienceService, internal.transport),
    contactLimits: { maxContacts: config.MAX_CONTACTS, maxPendingRequests: config.MAX_PENDING_CONTACT_REQUESTS },
    limits: accountsLimits(config),
    metrics,
  });
  const store = createStoreApp({
    repo: (await historyRepositoryFromEnv(config, config.DATA_DIR, { onCommitted: storeWriteMetrics(metrics), largeGroupThreshold: config.LARGE_GROUP_THRESHOLD })).repo,
    verifier,
    relations: relationsClient,
    devices: createClient(DevicesService, internal.transport),
    largeGroupThreshold: config.LARGE_GROUP_THRESHOLD,
    retentionSweep: retentionSweepFromEnv(config),
    retentionEvents: retentionMetrics(metrics),
    archive: await archiveFromEnv(config, config.DATA_DIR),
    archiveEvents: archiveMetrics(metrics, log),
    onError: (err) => log.warn({ err }, "retention pass failed; it runs again on the next interval"),
  });
  const lastSeen = openSqliteLastSeenStore(join(config.DATA_DIR, "presence.db"));
  const presence = createPresenceApp({
    registry,
    bus,
    relations: relationsClient,
    lastSeen,
    verifier,
    log: log.child({ component: "presence" }),
    sweepIntervalMs: config.HEARTBEAT_INTERVAL_MS,
    announceWindowMs: config.PRESENCE_ANNOUNCE_WINDOW_MS,
  });
  // The local folder's signed URLs point at the HTTP port, known once it listens.
  let httpPort = config.HTTP_PORT;
  const media = await createMediaAppFromEnv(config, {
    verifier,
    store: storeClient,
    log: log.child({ component: "media" }),
    metrics,
    http: { host: config.HOST, port: () => httpPort },
  });
  const offline = createMemoryQueue();
  const router = createRouterApp(
    { store: storeClient, media: createClient(MediaRefsService, internal.transport), bus, registry, offline, log: log.child({ component: "router" }), metrics },
    { ...defaultRouterSettings, largeGroupThreshold: config.LARGE_GROUP_THRESHOLD, largeGroupWindowMs: config.LARGE_GROUP_WINDOW_MS },
  );
  const routerClient = createClient(RouterService, internal.transport);
  const push = createPushApp({
    queue: offline,
    // Poison candidates are kept here, unconsumed, for inspection (the cluster keeps them in a JetStream stream).
    deadLetters: createMemoryQueue(),
    targets: createClient(PushTargetsService, internal.transport),
    store: storeClient,
    providers: providersFromEnv(config, config.DATA_DIR),
    marks: createMemorySentMarks({ keepMs: 24 * 3600 * 1000 }),
    verifier,
    metrics,
    log: log.child({ component: "push" }),
  });
  const groups = createGroupsApp({
    verifier,
    store: storeClient,
    router: routerClient,
    relations: relationsClient,
    history: createClient(HistoryService, internal.transport),
    settings: { maxGroupMembers: config.MAX_GROUP_MEMBERS, createGroupRateLimit: config.GROUP_CREATE_RATE_LIMIT },
    log: log.child({ component: "groups" }),
    metrics,
  });
  const gateway = createGatewayApp(
    {
      verifier,
      router: routerClient,
      store: storeClient,
      sessions: createClient(SessionService, internal.transport),
      bus,
      log: log.child({ component: "gateway" }),
      metrics,
    },
    {
      gatewayId: config.GATEWAY_ID,
      heartbeatIntervalMs: config.HEARTBEAT_INTERVAL_MS,
      outboundQueueLimit: config.OUTBOUND_QUEUE_LIMIT,
      helloTimeoutMs: config.HELLO_TIMEOUT_MS,
      maxReplayPerConversation: config.MAX_REPLAY_PER_CONVERSATION,
      gapFillDelayMs: config.GAP_FILL_DELAY_MS,
      conversationUpdateWindowMs: config.CONVERSATION_UPDATE_WINDOW_MS,
      ...gatewayLimits(config),
    },
  );

  const routes: ServiceRoute[] = [...accounts.routes, ...store.routes, ...presence.routes, ...media.routes, ...router.routes, ...groups.routes, ...push.routes, ...gateway.routes].map((r) =>
    instrumentRoute(r, log, metrics),
  );
  internal.bind(createDirectTransport(routes));
  // Internal services trust identity metadata, so they are never mounted on a public port.
  const publicRoutes = routes.filter((r) => r.visibility === "public");
  // Ready until a stop begins: the first step of a drain, as in each cluster service. One
  // state drives grpc.health.v1 on both ports and /readyz.
  const serving = new ServingState();
  const grpc = await startGrpcServer({ host: config.HOST, port: config.GRPC_PORT, routes: publicRoutes, maxReceiveMessageBytes: config.MAX_FRAME_BYTES, serving });
  const http = await startHttpServer({
    host: config.HOST,
    port: config.HTTP_PORT,
    routes: publicRoutes,
    maxReceiveMessageBytes: config.MAX_FRAME_BYTES,
    serving,
    extraRoutes: {
      ...media.httpRoutes,
      ...opsRoutes(metrics, log, serving),
      "/.well-known/jwks.json": (_req, res) => {
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify(issuer.jwks()));
      },
    },
  });

  httpPort = http.port;
  await push.start();

  return {
    grpcPort: grpc.port,
    httpPort: http.port,
    media,
    store,
    gateway: gateway.gateway,
    async stop() {
      serving.set(false);
      await gateway.gateway.drain(Math.min(config.SHUTDOWN_GRACE_MS, 2_000));
      await Promise.all([grpc.close(config.SHUTDOWN_GRACE_MS), http.close()]);
      await gateway.close();
      await presence.close();
      await lastSeen.close();
      await router.close();
      await push.close();
      await media.close();
      await Promise.all([store.close(), accounts.close(), bus.close(), registry.close(), offline.close()]);
    },
  };
}
