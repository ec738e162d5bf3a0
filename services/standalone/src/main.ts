import { ConfigError } from "@messenger/config";
import { createLogger, exitOnUnhandled } from "@messenger/logging";
import { loadStandaloneConfig } from "./config.js";
import { startSystem } from "./system.js";

const log = createLogger("messenger");
exitOnUnhandled(log);

async function main(): Promise<void> {
  const config = loadStandaloneConfig();
  const system = await startSystem(config, log);
  log.info({ grpc: `${config.HOST}:${system.grpcPort}`, http: `${config.HOST}:${system.httpPort}`, dataDir: config.DATA_DIR }, "messenger started");
  process.stdout.write(`messenger: gRPC on ${config.HOST}:${system.grpcPort}, Connect/gRPC-Web on http://${config.HOST}:${system.httpPort}\n`);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutting down");
    system.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) process.stderr.write(`${err.message}\n`);
  else log.fatal({ err }, "failed to start");
  process.exit(1);
});
