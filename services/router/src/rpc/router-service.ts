import type { Client } from "@connectrpc/connect";
import { fanOut, offlineNotificationCodec, subjects, type Bus, type DurableQueue, type SessionRegistry } from "@messenger/bus";
import type { Logger } from "@messenger/logging";
import type { Message } from "@messenger/proto/chat/v1/types";
import { RouterService, type Sender } from "@messenger/proto/router/v1/router_service";
import type { StoreService } from "@messenger/proto/store/v1/store_service";
import { callerFromHeaders, identityMetadata, route, type ServiceRoute } from "@messenger/rpc";

/** How long a typing indicator lasts unless renewed. */
export const typingTtlMs = 6_000;

/** What the router calls. */
export interface RouterDeps {
  readonly store: Client<typeof StoreService>;
  readonly bus: Bus;
  readonly registry: SessionRegistry;
  /** Offline notifications for members without a live session (the push worker consumes them). */
  readonly offline: DurableQueue;
  readonly log: Logger;
}

/**
 * The send path: the store authorizes and durably sequences, then the router pushes to the
 * gateways holding the members' sessions (the sender's other devices included, the sending
 * session excluded). Only a first store delivers; a deduplicated resend was delivered then.
 */
export function routerRoute(deps: RouterDeps): ServiceRoute {
  const { store } = deps;

  /** Pushes a newly stored message to the members' live sessions; members with none get an offline notification. */
  async function deliver(message: Message, memberUserIds: readonly string[], caller: Sender): Promise<void> {
    const reached = await fanOut(deps, memberUserIds, { frame: { case: "message", value: message } }, caller.sessionId);
    const offline = memberUserIds.filter((u) => u !== caller.userId && !reached.has(u));
    await Promise.all(
      offline.map((userId) =>
        deps.offline
          .publish(
            subjects.offlineNotifications(userId),
            offlineNotificationCodec.encode({ userId, conversationId: message.conversationId, messageId: message.id, seq: message.seq, senderUserId: caller.userId }),
            `${message.id}:${userId}`,
          )
          // The message itself is stored and will sync; only the notification is late or lost.
          .catch((err: unknown) => deps.log.warn({ err, userId }, "offline notification not queued")),
      ),
    );
  }
  return route(
    RouterService,
    {
      async sendMessages(req, ctx) {
        const items = req.items.map((i) => ({
          conversationId: i.conversationId,
          clientMessageId: i.clientMessageId,
          text: i.text,
          senderUserId: i.sender?.userId ?? "",
          senderDeviceId: i.sender?.deviceId ?? "",
        }));
        const res = await store.appendMessages({ items }, { signal: ctx.signal });
        // Delivered one after another so each member's gateways get them in seq order. A
        // message that cannot be pushed is still stored and answered: members get it on sync.
        for (const [i, r] of res.results.entries()) {
          const sender = req.items[i]?.sender;
          if (!r.message || r.duplicate || !sender) continue;
          await deliver(r.message, r.memberUserIds, sender).catch((err: unknown) =>
            deps.log.warn({ err, messageId: r.message?.id }, "live delivery failed; members will get the message on sync"),
          );
        }
        return { results: res.results.map((r) => ({ message: r.message, duplicate: r.duplicate, errorCode: r.errorCode, errorMessage: r.errorMessage })) };
      },
      async updateCursors(req, ctx) {
        const items = req.items.map((i) => ({
          conversationId: i.conversationId,
          deliveredSeq: i.deliveredSeq,
          readSeq: i.readSeq,
          userId: i.sender?.userId ?? "",
          deviceId: i.sender?.deviceId ?? "",
        }));
        const res = await store.updateCursors({ items }, { signal: ctx.signal });
        // A receipt that cannot be pushed is still recorded: members get it on sync.
        await Promise.all(
          res.results.map((r, i) => {
            const item = req.items[i]!;
            if (!r.changed || !r.receipt) return undefined;
            return fanOut(deps, r.memberUserIds, { frame: { case: "receipt", value: { conversationId: item.conversationId, receipt: r.receipt } } }, item.sender?.sessionId).catch(
              (err: unknown) => deps.log.warn({ err, conversationId: item.conversationId }, "live receipt failed; members will get it on sync"),
            );
          }),
        );
        return { results: res.results.map((r) => ({ receipt: r.receipt, errorCode: r.errorCode, errorMessage: r.errorMessage })) };
      },
      async setTyping(req, ctx) {
        const caller = callerFromHeaders(ctx.requestHeader);
        const members = await store.getMembers({ conversationId: req.conversationId }, { headers: identityMetadata(caller), signal: ctx.signal });
        const others = members.userIds.filter((u) => u !== caller.userId);
        await fanOut(deps, others, {
          frame: { case: "typing", value: { conversationId: req.conversationId, userId: caller.userId, typing: req.typing, expiresInMs: typingTtlMs } },
        });
        return {};
      },
    },
    "internal",
  );
}
