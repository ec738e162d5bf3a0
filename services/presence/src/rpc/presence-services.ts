import { Code, ConnectError } from "@connectrpc/connect";
import { authenticate, type TokenVerifier } from "@messenger/auth";
import { PresenceAudienceService, PresenceService, SessionService } from "@messenger/proto/presence/v1/presence_service";
import { route, type ServiceRoute } from "@messenger/rpc";
import type { PresenceTracker } from "../domain/presence-tracker.js";
import { presenceToProto } from "../domain/presence-state.js";

/** Most user ids one GetPresence may name. */
export const maxPresenceUserIds = 500;

/** Most viewers one AudienceChanged may name in each list. */
export const maxAudienceChange = 10_000;

/**
 * The public presence API: a caller sees themselves and the users whose relation to them
 * (asked of accounts) says presence_visible; the others are left out like unknown ids.
 */
export function presenceRoute(deps: { tracker: PresenceTracker; verifier: TokenVerifier }): ServiceRoute {
  return route(
    PresenceService,
    {
      async getPresence(req, ctx) {
        const me = await authenticate(deps.verifier, ctx.requestHeader);
        if (req.userIds.length > maxPresenceUserIds) throw new ConnectError(`at most ${maxPresenceUserIds} user ids`, Code.InvalidArgument);
        const states = await deps.tracker.presenceVisibleTo(me.userId, req.userIds);
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

/** The internal API accounts calls when who may see a user's presence changed. */
export function audienceRoute(deps: { tracker: PresenceTracker }): ServiceRoute {
  return route(
    PresenceAudienceService,
    {
      async audienceChanged(req) {
        if (!req.userId) throw new ConnectError("user_id is required", Code.InvalidArgument);
        if (req.gainedViewerIds.length > maxAudienceChange || req.lostViewerIds.length > maxAudienceChange) {
          throw new ConnectError(`at most ${maxAudienceChange} viewers in each list`, Code.InvalidArgument);
        }
        await deps.tracker.audienceChanged(req.userId, req.gainedViewerIds, req.lostViewerIds);
        return {};
      },
    },
    "internal",
  );
}
