import { readPushes } from "./domain/read-pushes.js";
import { Code, type Client } from "@connectrpc/connect";
import { deliveryCodec, subjects, type Bus, type DurableQueue, type SessionRegistry } from "@messenger/bus";
import type { Logger } from "@messenger/logging";
import type { MediaRefsService } from "@messenger/proto/media/v1/media_refs_service";
import type { StoreService } from "@messenger/proto/store/v1/store_service";
import type { ServiceMetrics, ServiceRoute } from "@messenger/rpc";
import { MessageDelivery } from "./domain/deliver-messages.js";
import { MembershipCache } from "./domain/membership-cache.js";
import { OutboxAcks } from "./domain/outbox-acks.js";
import { OutboxRelay } from "./domain/outbox-relay.js";
import type { PublishToGateway, PushOutbox } from "./domain/ports.js";
import { PushNotifier } from "./domain/push-notifier.js";
import { ReceiptFanout } from "./domain/receipt-fanout.js";
import { pushCandidateQueue } from "./push-queue.js";
import { pushMetrics } from "./router-metrics.js";
import { routerRoute } from "./rpc/router-service.js";

/** What the router calls. */
export interface RouterDeps {
  readonly store: Client<typeof StoreService>;
  /** The media service, which vouches for the media references of messages sent. */
  readonly media: Client<typeof MediaRefsService>;
  readonly bus: Bus;
  readonly registry: SessionRegistry;
  /** Push candidates (OfflineNotification) for every recipient; the push worker consumes them. */
  readonly offline: DurableQueue;
  readonly log: Logger;
  /** Where the push path's metrics go; none when absent. */
  readonly metrics?: ServiceMetrics;
}

/** Router settings. */
export interface RouterSettings {
  /** Above this many members a group gets light signals instead of full pushes. */
  readonly largeGroupThreshold: number;
  /** A large group's receipt summary and each member's offline notification go out at most once per this window. */
  readonly largeGroupWindowMs: number;
  /** Delivery batches a router may hold before its senders wait. */
  readonly maxDeliveryBacklog: number;
  /** How often the push outbox relay looks for messages whose candidates were never queued. */
  readonly pushOutboxRelayIntervalMs: number;
  /** Outbox entries younger than this are left to the router that stored their message. */
  readonly pushOutboxGraceMs: number;
  /**
   * How long a relay holds the entries it claimed: longer than queuing a batch takes (a
   * publish gives up after 5 s), and also how long an entry waits after a pass that could not
   * queue it.
   */
  readonly pushOutboxLeaseMs: number;
}

/** How long a send batch waits for the media service to vouch for its media references. */
const mediaResolveTimeoutMs = 2_000;

/** The router's defaults (the same threshold as the store's). */
export const defaultRouterSettings: RouterSettings = {
  largeGroupThreshold: 256,
  largeGroupWindowMs: 1_000,
  maxDeliveryBacklog: 1_024,
  pushOutboxRelayIntervalMs: 3_000,
  pushOutboxGraceMs: 5_000,
  pushOutboxLeaseMs: 15_000,
};

/** Entries per claim. */
const pushOutboxBatch = 500;

/** The router service, ready to mount on any transport. */
export interface RouterApp {
  readonly routes: ServiceRoute[];
  /** Resolves once every accepted delivery was published. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Composes the router from a store client, the bus, the session registry and the offline
 * queue, and starts its push outbox relay (stopped by close).
 */
export function createRouterApp(deps: RouterDeps, settings: RouterSettings = defaultRouterSettings): RouterApp {
  const memberships = new MembershipCache({
    async memberRanges(conversationId, knownVersion) {
      const r = await deps.store.getMemberRanges({ conversationId, knownMemberVersion: BigInt(knownVersion) });
      return {
        version: Number(r.memberVersion),
        unchanged: r.unchanged,
        memberCount: r.memberCount,
        ranges: r.ranges.map((x) => ({ userId: x.userId, fromSeq: Number(x.fromSeq), toSeq: Number(x.toSeq) })),
        blocked: r.blocked,
      };
    },
  });
  const publish: PublishToGateway = (gatewayId, userIds, frame, excludeSessionId) =>
    deps.bus.publish(subjects.gatewayDeliveries(gatewayId), deliveryCodec.encode({ userIds: [...userIds], excludeSessionId, frame }));
  const queue = pushCandidateQueue(deps.offline);
  const outbox: PushOutbox = {
    async claim(olderThanMs, leaseMs, limit) {
      const r = await deps.store.claimPushOutbox({ olderThanMs: BigInt(Math.max(0, olderThanMs)), leaseMs, limit });
      return {
        entries: r.entries.map((e) => ({ conversationId: e.conversationId, seq: e.seq, messageId: e.messageId, senderUserId: e.senderUserId, sentAtMs: Number(e.sentAtMs) })),
        oldestSentAtMs: Number(r.oldestSentAtMs),
      };
    },
    async ack(keys) {
      await deps.store.ackPushOutbox({ keys: keys.map((k) => ({ conversationId: k.conversationId, seq: k.seq })) });
    },
  };
  const metrics = deps.metrics ? pushMetrics(deps.metrics) : undefined;
  const sessions = deps.registry;
  const pushes = new PushNotifier({ queue, acks: new OutboxAcks(outbox), log: deps.log, events: metrics?.pushes }, { largeGroupWindowMs: settings.largeGroupWindowMs });
  const delivery = new MessageDelivery({ memberships, sessions, publish, pushes, log: deps.log }, { largeGroupThreshold: settings.largeGroupThreshold, maxBacklog: settings.maxDeliveryBacklog });
  const relay = new OutboxRelay(
    { outbox, memberships, sessions, pushes, log: deps.log, events: metrics?.relay },
    {
      intervalMs: settings.pushOutboxRelayIntervalMs,
      graceMs: settings.pushOutboxGraceMs,
      leaseMs: settings.pushOutboxLeaseMs,
      batchSize: pushOutboxBatch,
      largeGroupThreshold: settings.largeGroupThreshold,
    },
  );
  relay.start();
  const receipts = new ReceiptFanout(
    { memberships, sessions, publish, log: deps.log },
    { largeGroupThreshold: settings.largeGroupThreshold, largeGroupReceiptWindowMs: settings.largeGroupWindowMs },
  );
  return {
    routes: [
      routerRoute({
        store: deps.store,
        delivery,
        receipts,
        memberships,
        sessions,
        publish,
        largeGroupThreshold: settings.largeGroupThreshold,
        readMoved: readPushes({ sessions, queue, log: deps.log }),
        // Well inside the gateway's deadline on this call: a media service that hangs holds
        // back only the media sends (and what their devices sent after), never the call.
        resolveMedia: async (items) =>
          (await deps.media.resolveMedia({ items: [...items] }, { timeoutMs: mediaResolveTimeoutMs })).results.map((r) =>
            r.errorCode !== 0 ? { errorCode: r.errorCode, errorMessage: r.errorMessage } : r.media ? { media: r.media } : { errorCode: Code.Internal, errorMessage: "the media service answered without a reference" },
          ),
      }),
    ],
    idle: () => delivery.idle(),
    async close() {
      await relay.close();
      await delivery.idle();
      await pushes.close();
      receipts.close();
    },
  };
}
