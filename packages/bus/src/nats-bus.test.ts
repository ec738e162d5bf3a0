import { connect } from "@nats-io/transport-node";
import { startNatsServer, eventually, type NatsServer } from "@messenger/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNatsBus } from "./nats-bus.js";

let nats: NatsServer;
beforeAll(async () => {
  nats = await startNatsServer();
});
afterAll(async () => {
  await nats.stop();
});

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe("bus subscribers learn when they may have missed messages", () => {
  it("NATS: after the server restarts, a subscriber is told once its link is back, and receives again", async () => {
    const subscriberConn = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    const publisherConn = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    const sub = createNatsBus(subscriberConn);
    const pub = createNatsBus(publisherConn);
    const got: string[] = [];
    let missed = 0;
    sub.subscribe("test.deliveries", (b) => got.push(text(b)), () => missed++);
    try {
      await publisherConn.flush();
      await subscriberConn.flush();
      pub.publish("test.deliveries", bytes("before"));
      await eventually(() => got.includes("before"), "delivery before the restart");
      expect(missed).toBe(0);
      await nats.restart();
      await eventually(() => missed === 1, "the subscriber is told after its reconnect");
      // Once told, its subscription is live again: what is published now arrives.
      await eventually(async () => {
        pub.publish("test.deliveries", bytes("after"));
        // The publisher may still be reconnecting itself.
        await publisherConn.flush().catch(() => undefined);
        return got.includes("after");
      }, "delivery after the restart");
      expect(missed).toBe(1);
    } finally {
      await subscriberConn.close();
      await publisherConn.close();
    }
  });

});
