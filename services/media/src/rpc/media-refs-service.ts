import { MediaRefsService } from "@messenger/proto/media/v1/media_refs_service";
import { domainErrorToConnect, route, type ServiceRoute } from "@messenger/rpc";
import { DomainError } from "../domain/media-error.js";
import type { MediaUseCases } from "../domain/media-use-cases.js";
import { mediaRefInit } from "./media-service.js";

/** The internal MediaRefsService: the router's check of the media a send carries. */
export function mediaRefsRoute(deps: { media: MediaUseCases }): ServiceRoute {
  return route(
    MediaRefsService,
    {
      async resolveMedia(req) {
        const answers = await deps.media.resolveMedia(req.items);
        return {
          results: answers.map((a) => (a instanceof DomainError ? { errorCode: domainErrorToConnect(a).code, errorMessage: a.message } : { media: mediaRefInit(a) })),
        };
      },
    },
    "internal",
  );
}
