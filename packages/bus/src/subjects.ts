import { fromBinary, toBinary, create, type MessageInitShape } from "@bufbuild/protobuf";
import { DeliverySchema, OfflineNotificationSchema, type Delivery, type OfflineNotification } from "@messenger/proto/bus/v1/events";
import type { QueueStream } from "./jetstream-queue.js";

/**
 * Every bus subject of the system, in one place. Payloads are proto messages.
 */
export const subjects = {
  /** Deliveries for the sessions held by one gateway; only that gateway subscribes. */
  gatewayDeliveries: (gatewayId: string): string => `messenger.gateway.${gatewayId}.deliver`,
  /** Offline notifications for one user (JetStream, consumed by the push worker). */
  offlineNotifications: (userId: string): string => `messenger.offline.${userId}`,
} as const;

/** The JetStream stream behind subjects.offlineNotifications. */
export const offlineStream: QueueStream = { name: "MESSENGER_OFFLINE", subjects: ["messenger.offline.>"], maxAgeMs: 24 * 3600 * 1000 };

/** Consumer group of the push worker on offlineStream. */
export const pushWorkerGroup = "push-worker";

/** Codec of the payload on subjects.offlineNotifications. */
export const offlineNotificationCodec = {
  encode: (n: MessageInitShape<typeof OfflineNotificationSchema>): Uint8Array => toBinary(OfflineNotificationSchema, create(OfflineNotificationSchema, n)),
  decode: (bytes: Uint8Array): OfflineNotification => fromBinary(OfflineNotificationSchema, bytes),
};

/**
 * The deliveries this process encoded, by their bytes: on the in-process bus the subscriber
 * gets the very same bytes and takes the message back instead of parsing it. Nobody mutates
 * a delivery after encoding it.
 */
const encodedHere = new WeakMap<Uint8Array, Delivery>();

/** Codec of the payload on subjects.gatewayDeliveries. */
export const deliveryCodec = {
  encode: (d: MessageInitShape<typeof DeliverySchema>): Uint8Array => {
    const message = create(DeliverySchema, d);
    const bytes = toBinary(DeliverySchema, message);
    encodedHere.set(bytes, message);
    return bytes;
  },
  decode: (bytes: Uint8Array): Delivery => encodedHere.get(bytes) ?? fromBinary(DeliverySchema, bytes),
};
