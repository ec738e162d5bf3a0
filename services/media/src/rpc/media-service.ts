import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { authenticate, type TokenVerifier } from "@messenger/auth";
import type { MediaRef } from "@messenger/proto/chat/v1/types";
import { MediaService, MediaVariant } from "@messenger/proto/media/v1/media_service";
import { route, type ServiceRoute } from "@messenger/rpc";
import type { MediaReference, MediaUseCases } from "../domain/media-use-cases.js";

/** A media reference as messages carry it. */
export function mediaRefInit(m: MediaReference): Omit<MediaRef, "$typeName"> {
  return { mediaId: m.mediaId, mimeType: m.mimeType, sizeBytes: BigInt(m.size), width: m.width, height: m.height, thumbnail: m.preview, fileName: m.fileName };
}

/**
 * The public messenger.media.v1.MediaService: authenticates the caller and translates;
 * the rules are in src/domain, and their refusals (DomainError) become statuses in the
 * shared instrumentation.
 */
export function mediaRoute(deps: { verifier: TokenVerifier; media: MediaUseCases }): ServiceRoute {
  return route(
    MediaService,
    {
      async createUpload(req, ctx) {
        const { userId } = await authenticate(deps.verifier, ctx.requestHeader);
        const { mediaId, upload } = await deps.media.createUpload(userId, req);
        return {
          mediaId,
          uploadUrl: upload.url,
          uploadMethod: upload.method,
          uploadHeaders: Object.entries(upload.headers).map(([name, value]) => ({ name, value })),
          expiresAt: timestampFromMs(upload.expiresAt),
        };
      },
      async completeUpload(req, ctx) {
        const { userId } = await authenticate(deps.verifier, ctx.requestHeader);
        return { media: mediaRefInit(await deps.media.completeUpload(userId, req.mediaId)) };
      },
      async getDownloadUrl(req, ctx) {
        const { userId } = await authenticate(deps.verifier, ctx.requestHeader);
        const variant = req.variant === MediaVariant.THUMBNAIL ? "thumbnail" : "original";
        const d = await deps.media.getDownloadUrl(userId, req.mediaId, variant);
        return { url: d.request.url, expiresAt: timestampFromMs(d.request.expiresAt), mimeType: d.mimeType, sizeBytes: BigInt(d.size) };
      },
    },
    "public",
  );
}
