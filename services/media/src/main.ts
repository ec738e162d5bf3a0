import { createClient } from "@connectrpc/connect";
import { createTokenVerifier } from "@messenger/auth";
import { parseEnv, serviceEnv, serviceUrl, z } from "@messenger/config";
import { StoreService } from "@messenger/proto/store/v1/store_service";
import { peerTransport, runService } from "@messenger/rpc";
import { mediaEnv } from "./media-env.js";
import { createMediaAppFromEnv } from "./media-from-env.js";

const env = z.object({
  ...serviceEnv,
  STORE_URL: serviceUrl(),
  JWKS_URL: serviceUrl(),
  DATA_DIR: z.string().min(1).default("./data-media"),
  ...mediaEnv,
});

await runService("media", () => parseEnv(env), async (config, { log, metrics }) => {
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
