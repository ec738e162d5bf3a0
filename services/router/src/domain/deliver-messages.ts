import { timestampMs } from "@bufbuild/protobuf/wkt";
import type { Logger } from "@messenger/logging";
import type { Message } from "@messenger/proto/chat/v1/types";
import { membersAt } from "./member-ranges.js";
import type { MembershipCache } from "./membership-cache.js";
import { OrderedWork } from "./ordered-work.js";
import type { Frame, PublishToGateway, SessionLookup } from "./ports.js";
import type { NotifiedMessage, PushNotifier } from "./push-notifier.js";
import { pushRecipients, type PushRecipient } from "./push-policy.js";
import { SessionIndex } from "./session-index.js";

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
  /** Batches waiting to be published before SendMessages waits for room (back-pressure). */
  readonly maxBacklog: number;
}

interface Plan {
  readonly publishes: { gatewayId: string; userIds: string[]; frame: Frame; exclude: string }[];
  /** Each message's push candidates; a large group's are coalesced over a window. */
  readonly pushes: { message: NotifiedMessage; recipients: PushRecipient[]; large: boolean }[];
}

/**
 * Delivers stored messages, off the sender's ack path: each message goes to the members
 * whose membership range covers its seq, as one publish per gateway that holds one of their
 * sessions (never a broadcast, never a publish per member). A group above the large-group
 * threshold gets a light conversation_updated frame instead of the message. Every recipient
 * but the author is a push candidate, with the devices that had a live session (the push
 * worker decides per device); the candidates go to the PushNotifier, which acknowledges the
 * message's outbox entry once the queue took them all. In a large group they are coalesced
 * per member and conversation over a window, so a busy group of a thousand costs a thousand
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

  constructor(
    private readonly deps: {
      memberships: MembershipCache;
      sessions: SessionLookup;
      publish: PublishToGateway;
      pushes: PushNotifier;
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
    const plan: Plan = { publishes: [], pushes: [] };
    for (const { item, recipients, large } of targets) {
      const m = item.message;
      const frame: Frame = large
        ? { frame: { case: "conversationUpdated", value: { conversationId: m.conversationId, lastSeq: m.seq } } }
        : { frame: { case: "message", value: m } };
      for (const [gatewayId, userIds] of sessions.byGateway(recipients, item.excludeSessionId)) {
        plan.publishes.push({ gatewayId, userIds, frame, exclude: item.excludeSessionId });
      }
      plan.pushes.push({
        message: { conversationId: m.conversationId, messageId: m.id, seq: m.seq, senderUserId: m.senderUserId, sentAtMs: m.sentAt ? timestampMs(m.sentAt) : 0 },
        recipients: pushRecipients(recipients, m.senderUserId, sessions),
        large,
      });
    }
    return plan;
  }

  private commit(plan: Plan): void {
    for (const p of plan.publishes) this.deps.publish(p.gatewayId, p.userIds, p.frame, p.exclude);
    // Not awaited: the notifier reports its own failures, and the outbox keeps what it could not queue.
    for (const { message, recipients, large } of plan.pushes) void this.deps.pushes.offer(message, recipients, large);
  }
}
