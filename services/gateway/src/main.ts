import { createClient } from "@connectrpc/connect";
import { createTokenVerifier } from "@messenger/auth";
import { createNatsBus } from "@messenger/bus";
import { parseEnv } from "@messenger/config";
import { AccountsService } from "@messenger/proto/accounts/v1/accounts_service";
import { ContactsService } from "@messenger/proto/accounts/v1/contacts_service";
import { NotificationsService } from "@messenger/proto/accounts/v1/notifications_service";
import { GroupService } from "@messenger/proto/groups/v1/group_service";
import { HistoryService } from "@messenger/proto/history/v1/history_service";
import { PresenceService, SessionService } from "@messenger/proto/presence/v1/presence_service";
import { RouterService } from "@messenger/proto/router/v1/router_service";
import { StoreService } from "@messenger/proto/store/v1/store_service";
import { ConversationSettingsService } from "@messenger/proto/conversations/v1/conversation_settings_service";
import { MediaService } from "@messenger/proto/media/v1/media_service";
import { PushConfigService } from "@messenger/proto/push/v1/push_config_service";
import { forwardingRoute, peerTransport, runService } from "@messenger/rpc";
import { connect } from "@nats-io/transport-node";
import { createGatewayApp } from "./app.js";
import { gatewayEnv } from "./env.js";
import { gatewayLimits } from "./limits-env.js";

await runService("gateway", () => parseEnv(gatewayEnv), async (config, { log, metrics }) => {
  const nc = await connect({ servers: config.NATS_URL.split(","), name: `gateway-${config.GATEWAY_ID}`, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
  const store = peerTransport(config.STORE_URL);
  const presence = peerTransport(config.PRESENCE_URL);
  const accounts = peerTransport(config.ACCOUNTS_URL);
  const groups = peerTransport(config.GROUPS_URL);
  const app = createGatewayApp(
    {
      verifier: createTokenVerifier({ jwksUrl: config.JWKS_URL }),
      router: createClient(RouterService, peerTransport(config.ROUTER_URL)),
      store: createClient(StoreService, store),
      sessions: createClient(SessionService, presence),
      bus: createNatsBus(nc, (err) => log.warn({ err }, "NATS status watch failed")),
      log,
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
  log.info({ gatewayId: config.GATEWAY_ID }, "gateway id");
  return {
    // Clients need one address: the public unary APIs are forwarded to their owners.
    routes: [
      ...app.routes,
      forwardingRoute(AccountsService, accounts),
      forwardingRoute(ContactsService, accounts),
      forwardingRoute(NotificationsService, accounts),
      forwardingRoute(HistoryService, store),
      forwardingRoute(PresenceService, presence),
      forwardingRoute(GroupService, groups),
      forwardingRoute(ConversationSettingsService, groups),
      forwardingRoute(MediaService, peerTransport(config.MEDIA_URL)),
      forwardingRoute(PushConfigService, peerTransport(config.PUSH_URL)),
    ],
    drain: (graceMs) => app.gateway.drain(graceMs, config.DRAIN_WAVES),
    async close() {
      await app.close();
      await nc.drain();
    },
  };
});
