import { createClient } from "@connectrpc/connect";
import { createTokenVerifier } from "@messenger/auth";
import { parseEnv } from "@messenger/config";
import { DevicesService } from "@messenger/proto/accounts/v1/devices_service";
import { RelationsService } from "@messenger/proto/accounts/v1/relations_service";
import { peerTransport, runService } from "@messenger/rpc";
import { createStoreApp, retentionSweepFromEnv } from "./app.js";
import { archiveFromEnv } from "./archive-env.js";
import { storeEnv } from "./env.js";
import { historyRepositoryFromEnv } from "./history-env.js";
import { archiveMetrics, retentionMetrics, storeWriteMetrics } from "./store-metrics.js";

await runService("store", () => parseEnv(storeEnv), async (config, { log, metrics }) => {
  const archive = await archiveFromEnv(config, config.DATA_DIR);
  const history = await historyRepositoryFromEnv(config, config.DATA_DIR, { onCommitted: storeWriteMetrics(metrics), largeGroupThreshold: config.LARGE_GROUP_THRESHOLD });
  log.info({ history: history.describe, archive: archive.describe }, "history is kept in");
  const app = createStoreApp({
    repo: history.repo,
    verifier: createTokenVerifier({ jwksUrl: config.JWKS_URL }),
    relations: createClient(RelationsService, peerTransport(config.ACCOUNTS_URL)),
    devices: createClient(DevicesService, peerTransport(config.ACCOUNTS_URL)),
    largeGroupThreshold: config.LARGE_GROUP_THRESHOLD,
    retentionSweep: retentionSweepFromEnv(config),
    retentionEvents: retentionMetrics(metrics),
    archive,
    archiveEvents: archiveMetrics(metrics, log),
    onError: (err) => log.warn({ err }, "retention pass or archiving run failed; it runs again on the next interval"),
  });
  return { routes: app.routes, close: () => app.close() };
});
