import { createClient } from "@connectrpc/connect";
import { createTokenVerifier } from "@messenger/auth";
import { parseEnv } from "@messenger/config";
import { StoreService } from "@messenger/proto/store/v1/store_service";
import { peerTransport, runService } from "@messenger/rpc";
import { mediaServiceEnv } from "./env.js";
import { createMediaAppFromEnv } from "./media-from-env.js";

await runService("media", () => parseEnv(mediaServiceEnv), async (config, { log, metrics }) => {
  let httpPort = config.HTTP_PORT;
  const app = await createMediaAppFromEnv(config, {
    verifier: createTokenVerifier({ jwksUrl: config.JWKS_URL }),
    store: createClient(StoreService, peerTransport(config.STORE_URL)),
    log,
    metrics,
    http: { host: config.HOST, port: () => httpPort },
  });
  return {
    routes: app.routes,
    extraHttpRoutes: app.httpRoutes,
    started(ports) {
      httpPort = ports.httpPort;
    },
    close: () => app.close(),
  };
});
