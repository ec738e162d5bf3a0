import type { Logger } from "@messenger/logging";
import type { Message } from "@messenger/proto/chat/v1/types";
import { membersAt } from "./member-ranges.js";
import type { MembershipCache } from "./membership-cache.js";
import { offlineRecipients } from "./offline-policy.js";
import { OrderedWork } from "./ordered-work.js";
import { SessionIndex } from "./session-index.js";
import type { Frame, NotifyOffline, PublishToGateway, SessionLookup } from "./ports.js";

/** A stored message to deliver. */
export interface StoredMessage {
  readonly message: Message;
  /** The conversation's membership version when it was stored; 0 when not known. */
  readonly memberVersion: number;
  /** The session that sent it, which has it already; "" for none. */
  readonly excludeSessionId: string;
}

/** Delivery settings. */
export interface DeliverySettings {
  /** Above this many members a group gets conversation_updated signals instead of messages. */
  readonly largeGroupThreshold: number;
  /** A large group's offline notifications are coalesced per member over this window. */
  readonly largeGroupWindowMs: number;
  /** Batches waiting to be published before SendMessages waits for room (back-pressure). */
  readonly maxBacklog: number;
}

interface Plan {
  readonly publishes: { gatewayId: string; userIds: string[]; frame: Frame; exclude: string }[];
  readonly offline: { userId: string; message: Message }[];
  /** Offline members of large groups, notified once per window with the newest message. */
  readonly offlineLarge: { userIds: string[]; message: Message }[];
}

/**
 * Delivers stored messages, off the sender's ack path: each message goes to the members
 * whose membership range covers its seq, as one publish per gateway that holds one of their
 * sessions (never a broadcast, never a publish per member). A group above the large-group
 * threshold gets a light conversation_updated frame instead of the message. Recipients with
 * no live session get an offline notification; in a large group these are coalesced per
 * member and conversation over a window, so a busy group of a thousand costs a thousand
 * queue writes per window, not per message.
 *
 * Lookups of several batches overlap; their publishes leave in the order the batches were
 * stored, so one router's deliveries of a conversation go out in seq order. (Gateways still
 * order what several routers publish: see the gateway's ConversationFeed.) The session
 * lookup happens after the store answered, and the registry's reads are consistent, so a
 * session registered before a message was stored is never missed.
 */
export class MessageDelivery {
  private readonly work: OrderedWork;
  private readonly roomWaiters: (() => void)[] = [];
  private readonly pendingLarge = new Map<string, { message: Message; userIds: Set<string> }>();
  private largeTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: {
      memberships: MembershipCache;
      sessions: SessionLookup;
      publish: PublishToGateway;
      notifyOffline: NotifyOffline;
      log: Logger;
    },
    private readonly settings: DeliverySettings,
  ) {
    this.work = new OrderedWork((err) => deps.log.warn({ err }, "live delivery failed; members get the messages on sync"));
  }

  /**
   * Resolves once fewer than maxBacklog batches wait. The send path waits here before
   * storing, so a router whose deliveries fall behind slows its senders instead of holding
   * an unbounded queue.
   */
  roomFor(): Promise<void> {
    if (this.work.size < this.settings.maxBacklog) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /** Stops the offline coalescing timer, sending what it held. */
  close(): void {
    clearTimeout(this.largeTimer);
    this.largeTimer = undefined;
    this.flushLarge();
  }

  /** Batches waiting to be published. */
  get backlog(): number {
    return this.work.size;
  }

  /** Queues a batch; returns at once. */
  deliver(batch: readonly StoredMessage[]): void {
    if (batch.length === 0) return;
    this.work.add(
      () => this.plan(batch),
      (plan) => {
        this.commit(plan);
        while (this.roomWaiters.length > 0 && this.work.size - 1 < this.settings.maxBacklog) this.roomWaiters.shift()!();
      },
    );
  }

  /** Resolves once every queued batch was published. */
  idle(): Promise<void> {
    return this.work.idle();
  }

  private async plan(batch: readonly StoredMessage[]): Promise<Plan> {
    const targets = await Promise.all(
      batch.map(async (item) => {
        const conversationId = item.message.conversationId;
        const membership =
          item.memberVersion > 0 ? await this.deps.memberships.atLeast(conversationId, item.memberVersion) : await this.deps.memberships.current(conversationId);
        return { item, recipients: membersAt(membership, Number(item.message.seq)), large: membership.memberCount > this.settings.largeGroupThreshold };
      }),
    );
    const everyone = [...new Set(targets.flatMap((t) => t.recipients))];
    const sessions = new SessionIndex(await this.deps.sessions.sessionsOf(everyone));
    const plan: Plan = { publishes: [], offline: [], offlineLarge: [] };
    for (const { item, recipients, large } of targets) {
      const m = item.message;
      const frame: Frame = large
        ? { frame: { case: "conversationUpdated", value: { conversationId: m.conversationId, lastSeq: m.seq } } }
        : { frame: { case: "message", value: m } };
      for (const [gatewayId, userIds] of sessions.byGateway(recipients, item.excludeSessionId)) {
        plan.publishes.push({ gatewayId, userIds, frame, exclude: item.excludeSessionId });
      }
      const offline = offlineRecipients(recipients, (u) => sessions.isLive(u), m.senderUserId);
      if (large) plan.offlineLarge.push({ userIds: offline, message: m });
      else for (const userId of offline) plan.offline.push({ userId, message: m });
    }
    return plan;
  }

  private commit(plan: Plan): void {
    for (const p of plan.publishes) this.deps.publish(p.gatewayId, p.userIds, p.frame, p.exclude);
    for (const { userId, message } of plan.offline) this.notify(userId, message);
    for (const { userIds, message } of plan.offlineLarge) {
      let pending = this.pendingLarge.get(message.conversationId);
      if (!pending) this.pendingLarge.set(message.conversationId, (pending = { message, userIds: new Set() }));
      if (message.seq > pending.message.seq) pending.message = message;
      for (const u of userIds) pending.userIds.add(u);
    }
    if (this.pendingLarge.size > 0) {
      this.largeTimer ??= setTimeout(() => {
        this.largeTimer = undefined;
        this.flushLarge();
      }, this.settings.largeGroupWindowMs);
    }
  }

  private flushLarge(): void {
    const pending = [...this.pendingLarge.values()];
    this.pendingLarge.clear();
    for (const { message, userIds } of pending) for (const userId of userIds) this.notify(userId, message);
  }

  private notify(userId: string, m: Message): void {
    this.deps
      .notifyOffline({ userId, conversationId: m.conversationId, messageId: m.id, seq: m.seq, senderUserId: m.senderUserId })
      // The message itself is stored and will sync; only the notification is late or lost.
      .catch((err: unknown) => this.deps.log.warn({ err, userId }, "offline notification not queued"));
  }
}
