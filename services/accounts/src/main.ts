import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createTokenIssuer, createTokenVerifier } from "@messenger/auth";
import { parseEnv } from "@messenger/config";
import { PresenceAudienceService } from "@messenger/proto/presence/v1/presence_service";
import { StoreService } from "@messenger/proto/store/v1/store_service";
import { peerTransport, runService } from "@messenger/rpc";
import { createAccountsApp } from "./app.js";
import { accountsRepositoryFromEnv } from "./accounts-storage-env.js";
import { accountsEnv } from "./env.js";
import { accountsLimits } from "./limits-env.js";

await runService("accounts", () => parseEnv(accountsEnv), async (config, { log, metrics }) => {
  const issuer = await createTokenIssuer({ keyPath: join(config.DATA_DIR, "token-signing.jwk.json"), keySetPath: config.TOKEN_SIGNING_KEYS_FILE, ttlSeconds: config.ACCESS_TOKEN_TTL_SECONDS });
  const accounts = await accountsRepositoryFromEnv(config, config.DATA_DIR);
  log.info({ accounts: accounts.describe }, "accounts are kept in");
  const app = createAccountsApp({
    repo: accounts.repo,
    issuer,
    verifier: createTokenVerifier({ jwks: issuer.jwks() }),
    store: createClient(StoreService, peerTransport(config.STORE_URL)),
    presence: createClient(PresenceAudienceService, peerTransport(config.PRESENCE_URL)),
    settings: { scryptLogN: config.SCRYPT_LOG_N, refreshTokenTtlSeconds: config.REFRESH_TOKEN_TTL_SECONDS },
    contactLimits: { maxContacts: config.MAX_CONTACTS, maxPendingRequests: config.MAX_PENDING_CONTACT_REQUESTS },
    storeRetry: { intervalMs: config.STORE_RETRY_INTERVAL_MS, maxIntervalMs: Math.max(config.STORE_RETRY_INTERVAL_MS, config.STORE_RETRY_MAX_INTERVAL_MS) },
    limits: accountsLimits(config),
    metrics,
    log,
  });
  return {
    routes: app.routes,
    extraHttpRoutes: {
      "/.well-known/jwks.json": (_req, res) => {
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify(issuer.jwks()));
      },
    },
    close: () => app.close(),
  };
});
