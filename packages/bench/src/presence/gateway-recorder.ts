import { deliveryCodec, subjects, type Bus, type Subscription } from "@messenger/bus";
import type { Presence } from "@messenger/proto/chat/v1/types";

/**
 * Stands in for the gateways: subscribes to each gateway's delivery subject, where presence
 * publishes its frames (one delivery per gateway holding some of the audience, listing the
 * recipients), and counts what arrives. For the users it is told to watch it also keeps when
 * the latest frame about them arrived and, per recipient, the latest state received.
 */
export class GatewayRecorder {
  /** Presence frames delivered: one per recipient listed in a delivery. */
  frames = 0;
  /** When the latest presence delivery arrived (performance.now()). */
  lastArrival = 0;
  private watched = new Set<string>();
  /** Per watched user: frames delivered about them. */
  readonly framesAbout = new Map<string, number>();
  /** Per watched user: arrival of the latest delivery about them. */
  readonly arrivals = new Map<string, number>();
  /** Per watched user: recipient → the latest state that recipient received. */
  readonly states = new Map<string, Map<string, Presence>>();
  private readonly subscriptions: Subscription[];

  constructor(bus: Bus, gatewayIds: readonly string[]) {
    this.subscriptions = gatewayIds.map((g) => bus.subscribe(subjects.gatewayDeliveries(g), (data) => this.take(data)));
  }

  /**
   * Clears every count and starts watching `users`; for those also in `statesOf` it keeps
   * the latest state each recipient received.
   */
  reset(users: Iterable<string> = [], statesOf: Iterable<string> = []): void {
    this.frames = 0;
    this.lastArrival = 0;
    this.watched = new Set(users);
    this.framesAbout.clear();
    this.arrivals.clear();
    this.states.clear();
    for (const u of statesOf) {
      this.watched.add(u);
      this.states.set(u, new Map());
    }
  }

  close(): void {
    for (const s of this.subscriptions) s.unsubscribe();
  }

  private take(data: Uint8Array): void {
    const d = deliveryCodec.decode(data);
    const frame = d.frame?.frame;
    if (frame?.case !== "presence" || !frame.value.presence) return;
    const presence = frame.value.presence;
    const now = performance.now();
    this.frames += d.userIds.length;
    this.lastArrival = now;
    if (!this.watched.has(presence.userId)) return;
    this.framesAbout.set(presence.userId, (this.framesAbout.get(presence.userId) ?? 0) + d.userIds.length);
    this.arrivals.set(presence.userId, now);
    const held = this.states.get(presence.userId);
    if (held) for (const recipient of d.userIds) held.set(recipient, presence);
  }
}
