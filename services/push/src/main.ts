import { createClient } from "@connectrpc/connect";
import { createTokenVerifier } from "@messenger/auth";
import { createJetStreamQueue, offlineStream, type JetStreamReplication, type QueueStream } from "@messenger/bus";
import { parseEnv } from "@messenger/config";
import { PushTargetsService } from "@messenger/proto/accounts/v1/push_targets_service";
import { StoreService } from "@messenger/proto/store/v1/store_service";
import { peerTransport, runService } from "@messenger/rpc";
import { connect } from "@nats-io/transport-node";
import { createNatsSentMarks } from "./adapters/nats-sent-marks.js";
import { createPushApp, pushDeadLetterSubject } from "./app.js";
import { pushEnv } from "./env.js";
import { providersFromEnv } from "./providers/providers-env.js";

/**
 * Where poison push candidates are kept: a stream nothing consumes, for operators to inspect
 * (`nats stream view MESSENGER_PUSH_DEAD`) for a week.
 */
const deadLetterStream: QueueStream = { name: "MESSENGER_PUSH_DEAD", subjects: [pushDeadLetterSubject], maxAgeMs: 7 * 24 * 3600 * 1000 };

/** Longer than a push service keeps a notification and than the offline queue keeps a candidate (a day). */
const sentMarksKeepMs = 24 * 3600 * 1000;

await runService("push", () => parseEnv(pushEnv), async (config, { log, metrics }) => {
  // Checked before anything connects: a configuration error exits at once with every problem.
  const providers = providersFromEnv(config, config.DATA_DIR);
  for (const line of providers.describe) log.info(line);
  const nc = await connect({ servers: config.NATS_URL.split(","), name: "push", maxReconnectAttempts: -1, reconnectTimeWait: 250 });
  const replication: JetStreamReplication = { replicas: config.NATS_JETSTREAM_REPLICAS, onRaised: (r) => log.info(r, "JetStream replicas raised") };
  // A pull that fails while NATS restarts is logged and the consumer pulls again.
  const queue = await createJetStreamQueue(nc, offlineStream, { onError: (err) => log.warn({ err }, "offline queue pull failed; pulling again"), replication });
  const deadLetters = await createJetStreamQueue(nc, deadLetterStream, { replication });
  const app = createPushApp({
    queue,
    deadLetters,
    targets: createClient(PushTargetsService, peerTransport(config.ACCOUNTS_URL)),
    store: createClient(StoreService, peerTransport(config.STORE_URL)),
    providers,
    marks: await createNatsSentMarks(nc, { keepMs: sentMarksKeepMs, replication }),
    verifier: createTokenVerifier({ jwksUrl: config.JWKS_URL }),
    metrics,
    log,
  });
  return {
    routes: app.routes,
    started() {
      // Candidates are taken off the queue only once the process serves health and /metrics.
      app.start().then(
        () => log.info({ stream: offlineStream.name }, "consuming push candidates"),
        (err: unknown) => {
          log.fatal({ err }, "cannot consume the offline queue");
          process.exit(1);
        },
      );
    },
    async close() {
      await app.close();
      await queue.close();
      await deadLetters.close();
      await nc.drain();
    },
  };
});
