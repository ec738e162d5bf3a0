import { MediaRefsService } from "@messenger/proto/media/v1/media_refs_service";
import { route, type ServiceRoute } from "@messenger/rpc";
import { MediaError } from "../domain/media-error.js";
import type { MediaUseCases } from "../domain/media-use-cases.js";
import { mediaErrorCodes } from "./media-errors.js";
import { mediaRefInit } from "./media-service.js";

/** The internal MediaRefsService: the router's check of the media a send carries. */
export function mediaRefsRoute(deps: { media: MediaUseCases }): ServiceRoute {
  return route(
    MediaRefsService,
    {
      async resolveMedia(req) {
        const answers = await deps.media.resolveMedia(req.items);
        return {
          results: answers.map((a) => (a instanceof MediaError ? { errorCode: mediaErrorCodes[a.reason], errorMessage: a.message } : { media: mediaRefInit(a) })),
        };
      },
    },
    "internal",
  );
}
