import { Counter, Gauge, Histogram } from "prom-client";
import type { ServiceMetrics } from "@messenger/rpc";

/** What a gateway counts about itself, on the service's registry. */
export interface GatewayMetrics {
  readonly activeStreams: Gauge;
  readonly deliveriesReceived: Counter;
  readonly framesDelivered: Counter;
  readonly sends: Counter<"result">;
  readonly sendSeconds: Histogram;
  readonly deliverySeconds: Histogram;
  readonly gapFills: Counter;
  readonly routerCircuitOpen: Gauge;
  readonly sendsShed: Counter;
  readonly sendDelaySeconds: Counter;
  readonly heartbeatSweeps: Counter;
  readonly busCatchUps: Counter;
  readonly resyncedMessages: Counter;
  readonly sessionsExpired: Counter;
}

export function createGatewayMetrics(m: ServiceMetrics): GatewayMetrics {
  const registers = [m.registry];
  return {
    activeStreams: new Gauge({ name: "messenger_gateway_active_streams", help: "Client sessions open on this gateway (the autoscaling signal)", registers }),
    deliveriesReceived: new Counter({ name: "messenger_gateway_deliveries_received_total", help: "Deliveries received on this gateway's bus subject", registers }),
    framesDelivered: new Counter({ name: "messenger_gateway_frames_delivered_total", help: "Frames pushed to local sessions from deliveries", registers }),
    sends: new Counter({ name: "messenger_gateway_sends_total", help: "Client sends, by result (ok, duplicate, refused)", labelNames: ["result"], registers }),
    gapFills: new Counter({ name: "messenger_gateway_gap_fills_total", help: "Gaps in a session's conversation filled from the store (deliveries crossed or were lost)", registers }),
    routerCircuitOpen: new Gauge({ name: "messenger_gateway_router_circuit_open", help: "1 while the circuit breaker on the router is open: sends are answered at once with UNAVAILABLE and a retry-after hint", registers }),
    sendsShed: new Counter({ name: "messenger_gateway_sends_shed_total", help: "Sends answered at once while the router's circuit breaker was open (no router call)", registers }),
    sendDelaySeconds: new Counter({ name: "messenger_gateway_send_delay_seconds_total", help: "Time the gateway held back reading clients' frames because their sends were over a rate limit", registers }),
    busCatchUps: new Counter({ name: "messenger_gateway_bus_catch_ups_total", help: "Catch-ups of every live session from the store after the bus link came back (deliveries published while it was down are lost)", registers }),
    resyncedMessages: new Counter({ name: "messenger_gateway_resynced_messages_total", help: "Messages a catch-up after a bus reconnect found missing and delivered", registers }),
    heartbeatSweeps: new Counter({ name: "messenger_gateway_heartbeat_sweeps_total", help: "Heartbeat sweeps run (each ends sessions silent for three intervals and refreshes the rest with the router)", registers }),
    sessionsExpired: new Counter({ name: "messenger_gateway_sessions_expired_total", help: "Sessions ended because their client sent nothing for three heartbeat intervals", registers }),
    sendSeconds: new Histogram({
      name: "messenger_gateway_send_seconds",
      help: "From a send frame batch to its send_results (the durable store; delivery follows off this path)",
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
      registers,
    }),
    deliverySeconds: new Histogram({
      name: "messenger_gateway_delivery_seconds",
      help: "From a message's store (its sent_at, the store's clock) to its frames handed to this gateway's sessions; once per delivery with a live recipient here",
      buckets: [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
  };
}
