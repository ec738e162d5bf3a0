import type { Client } from "@connectrpc/connect";
import { authenticate, type TokenVerifier } from "@messenger/auth";
import { pushWorkerGroup, RedeliverLaterError, type DurableQueue } from "@messenger/bus";
import type { Logger } from "@messenger/logging";
import type { PushTargetsService } from "@messenger/proto/accounts/v1/push_targets_service";
import type { PushRegistration as ProtoRegistration } from "@messenger/proto/accounts/v1/types";
import { ApnsEnvironment } from "@messenger/proto/accounts/v1/types";
import { PushConfigService } from "@messenger/proto/push/v1/push_config_service";
import type { StoreService } from "@messenger/proto/store/v1/store_service";
import { route, type ServiceMetrics, type ServiceRoute } from "@messenger/rpc";
import { decodeCandidate, encodeCandidate } from "./candidate-codec.js";
import type { PushCandidate } from "./domain/push-candidate.js";
import type { PushRegistration } from "./domain/push-ports.js";
import { createPushWorker, defaultPushWorkerSettings, redeliveryDelayMs, RetryLaterError, type PushWorkerSettings } from "./domain/push-worker.js";
import type { SentMarks } from "./domain/sent-marks.js";
import type { ConfiguredProviders } from "./providers/providers-env.js";
import { pushMetrics } from "./push-metrics.js";

/** The subject a poison push candidate goes to, with the reason in a header-free envelope. */
export const pushDeadLetterSubject = "messenger.push.dead";

/** The push worker, ready to start consuming, with its public API. */
export interface PushApp {
  readonly routes: ServiceRoute[];
  /** Starts consuming the queue's push candidates. */
  start(): Promise<void>;
  close(): Promise<void>;
}

function registrationFromProto(r: ProtoRegistration | undefined): PushRegistration | undefined {
  switch (r?.registration.case) {
    case "webPush":
      return { kind: "web_push", endpoint: r.registration.value.endpoint, p256dh: r.registration.value.p256dh, auth: r.registration.value.auth };
    case "fcm":
      return { kind: "fcm", token: r.registration.value.token };
    case "apns":
      return { kind: "apns", token: r.registration.value.token, environment: r.registration.value.environment === ApnsEnvironment.SANDBOX ? "sandbox" : "production" };
    default:
      return undefined;
  }
}

function registrationToProto(r: PushRegistration): ProtoRegistration["registration"] {
  switch (r.kind) {
    case "web_push":
      return { case: "webPush", value: { endpoint: r.endpoint, p256dh: r.p256dh, auth: r.auth } } as ProtoRegistration["registration"];
    case "fcm":
      return { case: "fcm", value: { token: r.token } } as ProtoRegistration["registration"];
    case "apns":
      return { case: "apns", value: { token: r.token, environment: r.environment === "sandbox" ? ApnsEnvironment.SANDBOX : ApnsEnvironment.PRODUCTION } } as ProtoRegistration["registration"];
  }
}

/**
 * Composes the push worker: it consumes the push candidates the router queues (the queue's
 * consumer group shares them among replicas), asks accounts (PushTargetsService) where the
 * user's devices can be woken and what the user wants, and the store (GetPushContext) which
 * devices already have the message, the badge and a preview; sends through the providers;
 * dead-letters what cannot be decoded or sent (a copy on `deadLetters`, then acknowledged).
 */
export function createPushApp(deps: {
  queue: DurableQueue;
  /** Where poison candidates go; in the one-process system a queue nobody consumes, kept for inspection. */
  deadLetters: DurableQueue;
  targets: Client<typeof PushTargetsService>;
  store: Client<typeof StoreService>;
  providers: ConfiguredProviders;
  marks: SentMarks;
  verifier: TokenVerifier;
  metrics: ServiceMetrics;
  log: Logger;
  settings?: PushWorkerSettings;
  /** Candidates handled at once (each waits on accounts, the store and a provider). */
  concurrency?: number;
}): PushApp {
  const events = pushMetrics(deps.metrics.registry);
  const settings = deps.settings ?? defaultPushWorkerSettings;
  const providers = new Map<PushRegistration["kind"], NonNullable<ConfiguredProviders["fcm"]>>([["web_push", deps.providers.web_push]]);
  if (deps.providers.fcm) providers.set("fcm", deps.providers.fcm);
  if (deps.providers.apns) providers.set("apns", deps.providers.apns);
  const worker = createPushWorker({
    targets: {
      async get(userId, conversationId, senderUserId) {
        const t = await deps.targets.getPushTargets({ userId, conversationId, senderUserId });
        return {
          devices: t.devices.flatMap((d) => {
            const registration = registrationFromProto(d.registration);
            return registration ? [{ deviceId: d.deviceId, registration }] : [];
          }),
          previews: t.previews,
          doNotDisturb: t.doNotDisturb,
          muted: t.muted,
          senderName: t.senderDisplayName,
        };
      },
      async remove(userId, deviceId, registration) {
        await deps.targets.removePushRegistration({ userId, deviceId, registration: { registration: registrationToProto(registration) } });
      },
    },
    history: {
      async context(userId, conversationId, seq, deviceIds, withPreview) {
        const c = await deps.store.getPushContext({ userId, conversationId, seq, deviceIds: [...deviceIds], withPreview });
        return { deliveredSeqs: new Map(Object.entries(c.deliveredSeqs)), unreadCount: c.unreadCount, previewText: c.previewText || undefined };
      },
    },
    providers,
    marks: deps.marks,
    deadLetter: async (c, reason) => {
      await deps.deadLetters.publish(pushDeadLetterSubject, encodeCandidate(c), `${c.messageId}:${c.userId}:dead`);
      deps.log.warn({ userId: c.userId, messageId: c.messageId, reason }, "push candidate dead-lettered");
    },
    events,
    settings,
  });
  let subscription: { unsubscribe(): Promise<void> | void } | undefined;
  return {
    routes: [
      route(
        PushConfigService,
        {
          async getWebPushConfig(_req, ctx) {
            await authenticate(deps.verifier, ctx.requestHeader);
            return { vapidPublicKey: deps.providers.vapidPublicKey };
          },
        },
        "public",
      ),
    ],
    async start() {
      subscription = await deps.queue.consume(pushWorkerGroup, async (data, _subject, { attempt }) => {
        let candidate: PushCandidate;
        try {
          candidate = decodeCandidate(data);
        } catch (err) {
          await deps.deadLetters.publish(pushDeadLetterSubject, data);
          events.deadLettered("undecodable");
          deps.log.warn({ err }, "undecodable push candidate dead-lettered");
          return;
        }
        if (candidate.storedAtMs > 0) events.queueLag(Date.now() - candidate.storedAtMs);
        try {
          await worker.handle(candidate, attempt);
        } catch (err) {
          if (err instanceof RetryLaterError) throw err;
          // Accounts or the store unreachable: back later, further apart each time.
          deps.log.warn({ err, userId: candidate.userId, attempt }, "push candidate failed; the queue delivers it again");
          throw new RedeliverLaterError("push candidate failed", redeliveryDelayMs(attempt, settings), { cause: err });
        }
      }, { concurrency: deps.concurrency ?? 32 });
    },
    async close() {
      await subscription?.unsubscribe();
      await deps.providers.close();
      await deps.marks.close();
    },
  };
}
