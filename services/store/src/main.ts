import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createTokenVerifier } from "@messenger/auth";
import { parseEnv, serviceEnv, serviceUrl, z } from "@messenger/config";
import { DevicesService } from "@messenger/proto/accounts/v1/devices_service";
import { RelationsService } from "@messenger/proto/accounts/v1/relations_service";
import { peerTransport, runService } from "@messenger/rpc";
import { createStoreApp, retentionSweepEnv, retentionSweepFromEnv } from "./app.js";
import { limits } from "./domain/limits.js";
import { openSqliteHistoryRepository } from "./storage/sqlite-history-repository.js";
import { retentionMetrics, storeWriteMetrics } from "./store-metrics.js";

const env = z.object({
  ...serviceEnv,
  DATA_DIR: z.string().min(1).default("./data/store"),
  JWKS_URL: serviceUrl(),
  ACCOUNTS_URL: serviceUrl(),
  LARGE_GROUP_THRESHOLD: z.coerce.number().int().min(1).default(limits.defaultLargeGroupThreshold),
  ...retentionSweepEnv,
});

await runService("store", () => parseEnv(env), async (config, { log, metrics }) => {
  const app = createStoreApp({
    repo: openSqliteHistoryRepository(join(config.DATA_DIR, "history.db"), { onCommitted: storeWriteMetrics(metrics), largeGroupThreshold: config.LARGE_GROUP_THRESHOLD }),
    verifier: createTokenVerifier({ jwksUrl: config.JWKS_URL }),
    relations: createClient(RelationsService, peerTransport(config.ACCOUNTS_URL)),
    devices: createClient(DevicesService, peerTransport(config.ACCOUNTS_URL)),
    largeGroupThreshold: config.LARGE_GROUP_THRESHOLD,
    retentionSweep: retentionSweepFromEnv(config),
    retentionEvents: retentionMetrics(metrics),
    onError: (err) => log.warn({ err }, "retention pass failed; it runs again on the next interval"),
  });
  return { routes: app.routes, close: () => app.close() };
});
