import type { PushNotification } from "../src/domain/push-ports.js";

/** A visible, content-free message notification; override what a test is about. */
export function messageNotification(overrides: Partial<PushNotification> = {}): PushNotification {
  return {
    kind: "message",
    visible: true,
    conversationId: "conv-1",
    seq: 42n,
    messageId: "msg-42",
    badge: 3,
    collapseKey: "conv-1",
    idempotencyKey: "device-1:msg-42",
    ...overrides,
  };
}

/** A silent read update: the badge went down, what was shown for the conversation goes. */
export function readNotification(overrides: Partial<PushNotification> = {}): PushNotification {
  return {
    kind: "read",
    visible: false,
    conversationId: "conv-1",
    seq: 42n,
    messageId: "msg-42",
    badge: 0,
    collapseKey: "conv-1",
    idempotencyKey: "device-1:read-42",
    ...overrides,
  };
}
