import { createClient } from "@connectrpc/connect";
import { createTokenVerifier } from "@messenger/auth";
import { parseEnv } from "@messenger/config";
import { RelationsService } from "@messenger/proto/accounts/v1/relations_service";
import { HistoryService } from "@messenger/proto/history/v1/history_service";
import { RouterService } from "@messenger/proto/router/v1/router_service";
import { StoreService } from "@messenger/proto/store/v1/store_service";
import { peerTransport, runService } from "@messenger/rpc";
import { createGroupsApp } from "./app.js";
import { groupsEnv } from "./env.js";

await runService("groups", () => parseEnv(groupsEnv), async (config, { log, metrics }) => {
  // The store's internal address serves its every route, the public history API included.
  const store = peerTransport(config.STORE_URL);
  const app = createGroupsApp({
    verifier: createTokenVerifier({ jwksUrl: config.JWKS_URL }),
    store: createClient(StoreService, store),
    history: createClient(HistoryService, store),
    router: createClient(RouterService, peerTransport(config.ROUTER_URL)),
    relations: createClient(RelationsService, peerTransport(config.ACCOUNTS_URL)),
    settings: {
      maxGroupMembers: config.MAX_GROUP_MEMBERS,
      deliveryTimeoutMs: config.GROUP_EVENT_DELIVERY_TIMEOUT_MS,
      createGroupRateLimit: config.GROUP_CREATE_RATE_LIMIT,
    },
    log,
    metrics,
  });
  return {
    routes: app.routes,
    async close() {},
  };
});
