import { Code, ConnectError } from "@connectrpc/connect";
import { authenticate, type TokenVerifier } from "@messenger/auth";
import { PresenceService, SessionService } from "@messenger/proto/presence/v1/presence_service";
import { route, type ServiceRoute } from "@messenger/rpc";
import { presenceToProto, type ContactsLookup, type PresenceTracker } from "../domain/presence-tracker.js";

/** The public presence API: a caller sees only their contacts and themselves. */
export function presenceRoute(deps: { tracker: PresenceTracker; verifier: TokenVerifier; contactsOf: ContactsLookup }): ServiceRoute {
  return route(
    PresenceService,
    {
      async getPresence(req, ctx) {
        const me = await authenticate(deps.verifier, ctx.requestHeader);
        if (req.userIds.length > 500) throw new ConnectError("at most 500 user ids", Code.InvalidArgument);
        const visible = new Set([me.userId, ...(await deps.contactsOf(me.userId))]);
        const states = await deps.tracker.presenceOf(req.userIds.filter((u) => visible.has(u)));
        return { presences: states.map(presenceToProto) };
      },
    },
    "public",
  );
}

function gatewayOf(req: { gatewayId: string }): string {
  if (!req.gatewayId) throw new ConnectError("gateway_id is required", Code.InvalidArgument);
  return req.gatewayId;
}

/** The internal session registry API called by gateways. */
export function sessionRoute(deps: { tracker: PresenceTracker }): ServiceRoute {
  return route(
    SessionService,
    {
      async registerSession(req) {
        if (!req.sessionId || !req.userId) throw new ConnectError("session_id and user_id are required", Code.InvalidArgument);
        await deps.tracker.register({ sessionId: req.sessionId, userId: req.userId, deviceId: req.deviceId, gatewayId: gatewayOf(req) });
        return {};
      },
      async refreshSessions(req) {
        return { unknownSessionIds: await deps.tracker.refresh(gatewayOf(req), req.sessionIds) };
      },
      async endSession(req) {
        await deps.tracker.end(req.sessionId);
        return {};
      },
    },
    "internal",
  );
}
