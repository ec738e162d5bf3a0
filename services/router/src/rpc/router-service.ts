import type { Client } from "@connectrpc/connect";
import { fanOut, type Bus, type SessionRegistry } from "@messenger/bus";
import { RouterService } from "@messenger/proto/router/v1/router_service";
import type { StoreService } from "@messenger/proto/store/v1/store_service";
import { callerFromHeaders, identityMetadata, route, type ServiceRoute } from "@messenger/rpc";

/** How long a typing indicator lasts unless renewed. */
export const typingTtlMs = 6_000;

/**
 * The send path: the store authorizes and durably sequences, then the router pushes to the
 * gateways holding the members' sessions (the sender's other devices included, the sending
 * session excluded). Only a first store delivers; a deduplicated resend was delivered then.
 */
export function routerRoute(deps: { store: Client<typeof StoreService>; bus: Bus; registry: SessionRegistry }): ServiceRoute {
  const { store } = deps;
  return route(
    RouterService,
    {
      async sendMessage(req, ctx) {
        const caller = callerFromHeaders(ctx.requestHeader);
        const res = await store.appendMessage({ conversationId: req.conversationId, clientMessageId: req.clientMessageId, text: req.text }, { headers: identityMetadata(caller), signal: ctx.signal });
        if (!res.duplicate && res.message) {
          await fanOut(deps, res.memberUserIds, { frame: { case: "message", value: res.message } }, caller.sessionId);
        }
        return { message: res.message, duplicate: res.duplicate };
      },
      async updateCursor(req, ctx) {
        const caller = callerFromHeaders(ctx.requestHeader);
        const res = await store.updateCursor({ conversationId: req.conversationId, deliveredSeq: req.deliveredSeq, readSeq: req.readSeq }, { headers: identityMetadata(caller), signal: ctx.signal });
        if (res.changed && res.receipt) {
          await fanOut(deps, res.memberUserIds, { frame: { case: "receipt", value: { conversationId: req.conversationId, receipt: res.receipt } } }, caller.sessionId);
        }
        return { receipt: res.receipt };
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
