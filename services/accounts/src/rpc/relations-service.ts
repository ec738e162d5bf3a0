import { RelationsService } from "@messenger/proto/accounts/v1/relations_service";
import { route, type ServiceRoute } from "@messenger/rpc";
import type { Relations } from "../domain/relations.js";

/** The internal relations API: the user comes from the request body, never from a token. */
export function relationsRoute(deps: { relations: Relations }): ServiceRoute {
  const { relations } = deps;
  return route(
    RelationsService,
    {
      async getRelations(req) {
        return { relations: await relations.get(req.userId, req.peerUserIds) };
      },
      async listPresenceAudience(req) {
        return { userIds: await relations.presenceAudience(req.userId) };
      },
    },
    "internal",
  );
}
