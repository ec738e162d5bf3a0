import { Code, ConnectError } from "@connectrpc/connect";
import { authenticate } from "@messenger/auth";
import { ConversationSettingsService } from "@messenger/proto/conversations/v1/conversation_settings_service";
import { route, type ServiceRoute } from "@messenger/rpc";
import { peerCallOf, peerHeaders } from "../adapters/peer-call.js";
import { routerEventDelivery } from "../adapters/router-event-delivery.js";
import { deliveryTimeoutOf, type GroupsDeps } from "./group-service.js";

/**
 * The public messenger.conversations.v1.ConversationSettingsService, served by the groups
 * service: like a group change, a setting is committed by the store with its system message
 * (the store checks who may change it, in the same write) and then pushed to the members'
 * sessions through the router. Direct conversations and groups alike.
 */
export function conversationSettingsRoute(deps: GroupsDeps): ServiceRoute {
  const deliveryTimeoutMs = deliveryTimeoutOf(deps.settings);
  return route(
    ConversationSettingsService,
    {
      async setRetention(req, ctx) {
        const { userId } = await authenticate(deps.verifier, ctx.requestHeader);
        const call = peerCallOf(ctx);
        if (!req.conversationId) throw new ConnectError("conversation_id is required", Code.InvalidArgument);
        const committed = await deps.store.setRetention(
          { conversationId: req.conversationId, actorUserId: userId, ...(req.retention ? { retention: req.retention } : {}) },
          { headers: peerHeaders(call, false) },
        );
        if (committed.event) await routerEventDelivery(deps.router, call, deps.log, deliveryTimeoutMs).deliver(committed.event);
        return { event: committed.event };
      },
    },
    "public",
  );
}
