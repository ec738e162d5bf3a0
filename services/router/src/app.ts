import { Code, type Client } from "@connectrpc/connect";
import { deliveryCodec, offlineNotificationCodec, subjects, type Bus, type DurableQueue, type SessionRegistry } from "@messenger/bus";
import type { Logger } from "@messenger/logging";
import type { MediaRefsService } from "@messenger/proto/media/v1/media_refs_service";
import type { StoreService } from "@messenger/proto/store/v1/store_service";
import type { ServiceRoute } from "@messenger/rpc";
import { MessageDelivery } from "./domain/deliver-messages.js";
import { MembershipCache } from "./domain/membership-cache.js";
import type { NotifyOffline, PublishToGateway } from "./domain/ports.js";
import { ReceiptFanout } from "./domain/receipt-fanout.js";
import { routerRoute } from "./rpc/router-service.js";

/** What the router calls. */
export interface RouterDeps {
  readonly store: Client<typeof StoreService>;
  /** The media service, which vouches for the media references of messages sent. */
  readonly media: Client<typeof MediaRefsService>;
  readonly bus: Bus;
  readonly registry: SessionRegistry;
  /** Offline notifications for members without a live session (the push worker consumes them). */
  readonly offline: DurableQueue;
  readonly log: Logger;
}

/** Router settings. */
export interface RouterSettings {
  /** Above this many members a group gets light signals instead of full pushes. */
  readonly largeGroupThreshold: number;
  /** A large group's receipt summary and each member's offline notification go out at most once per this window. */
  readonly largeGroupWindowMs: number;
  /** Delivery batches a router may hold before its senders wait. */
  readonly maxDeliveryBacklog: number;
}

/** How long a send batch waits for the media service to vouch for its media references. */
const mediaResolveTimeoutMs = 2_000;

/** The router's defaults (the same threshold as the store's). */
export const defaultRouterSettings: RouterSettings = { largeGroupThreshold: 256, largeGroupWindowMs: 1_000, maxDeliveryBacklog: 1_024 };

/** The router service, ready to mount on any transport. */
export interface RouterApp {
  readonly routes: ServiceRoute[];
  /** Resolves once every accepted delivery was published. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

/** Composes the router from a store client, the bus, the session registry and the offline queue. */
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
  const notifyOffline: NotifyOffline = (n) =>
    deps.offline.publish(subjects.offlineNotifications(n.userId), offlineNotificationCodec.encode(n), `${n.messageId}:${n.userId}`);
  const sessions = deps.registry;
  const delivery = new MessageDelivery(
    { memberships, sessions, publish, notifyOffline, log: deps.log },
    { largeGroupThreshold: settings.largeGroupThreshold, largeGroupWindowMs: settings.largeGroupWindowMs, maxBacklog: settings.maxDeliveryBacklog },
  );
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
      await delivery.idle();
      delivery.close();
      receipts.close();
    },
  };
}
