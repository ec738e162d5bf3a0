import { fromBinary, toBinary, create, type MessageInitShape } from "@bufbuild/protobuf";
import { DeliverySchema, type Delivery } from "@messenger/proto/bus/v1/events";

/**
 * Every bus subject of the system, in one place. Payloads are proto messages.
 */
export const subjects = {
  /** Deliveries for the sessions held by one gateway; only that gateway subscribes. */
  gatewayDeliveries: (gatewayId: string): string => `messenger.gateway.${gatewayId}.deliver`,
} as const;

/** Codec of the payload on subjects.gatewayDeliveries. */
export const deliveryCodec = {
  encode: (d: MessageInitShape<typeof DeliverySchema>): Uint8Array => toBinary(DeliverySchema, create(DeliverySchema, d)),
  decode: (bytes: Uint8Array): Delivery => fromBinary(DeliverySchema, bytes),
};
