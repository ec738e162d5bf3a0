import type { Client } from "@connectrpc/connect";
import type { TokenVerifier } from "@messenger/auth";
import type { Logger } from "@messenger/logging";
import type { StoreService } from "@messenger/proto/store/v1/store_service";
import type { HttpRoute, ServiceMetrics, ServiceRoute } from "@messenger/rpc";
import { storeConversationAccess } from "./adapters/store-conversation-access.js";
import { sharpProcessing, type ProcessingLimits } from "./adapters/sharp-processing.js";
import type { BlobStore } from "@messenger/blobs";
import { mediaCleanup } from "./domain/cleanup.js";
import type { MediaSettings } from "./domain/media-settings.js";
import { mediaUseCases, type MediaUseCases } from "./domain/media-use-cases.js";
import { mediaMetrics } from "./media-metrics.js";
import { mediaRefsRoute } from "./rpc/media-refs-service.js";
import { mediaRoute } from "./rpc/media-service.js";
import type { MediaRepository } from "./storage/media-repository.js";

/** What the media service is built from. */
export interface MediaAppDeps {
  readonly verifier: TokenVerifier;
  /** The store's internal API: members, and which messages reference which media. */
  readonly store: Client<typeof StoreService>;
  readonly repo: MediaRepository;
  readonly blobs: BlobStore;
  /** HTTP routes the blob store needs on the service's HTTP port (the local folder's signed URLs). */
  readonly blobRoutes?: Record<string, HttpRoute>;
  readonly settings: MediaSettings;
  readonly processing: ProcessingLimits;
  /** How often the cleanup runs (MEDIA_CLEANUP_INTERVAL_MS); 0 turns it off. */
  readonly cleanupIntervalMs: number;
  readonly log: Logger;
  readonly metrics?: ServiceMetrics;
  readonly now?: () => number;
}

/** The media service, ready to mount on any transport. */
export interface MediaApp {
  readonly routes: ServiceRoute[];
  readonly httpRoutes: Record<string, HttpRoute>;
  readonly media: MediaUseCases;
  /** One cleanup pass now (tests and operators' tools). */
  cleanup(): Promise<{ abandoned: number; unreferenced: number }>;
  close(): Promise<void>;
}

export function createMediaApp(deps: MediaAppDeps): MediaApp {
  const now = deps.now ?? Date.now;
  const access = storeConversationAccess(deps.store);
  const events = deps.metrics ? mediaMetrics(deps.metrics.registry) : undefined;
  const media = mediaUseCases({
    repo: deps.repo,
    blobs: deps.blobs,
    access,
    processing: sharpProcessing(deps.processing, deps.settings),
    settings: deps.settings,
    now,
    ...(events ? { events } : {}),
  });
  const sweeper = mediaCleanup({ repo: deps.repo, blobs: deps.blobs, access, settings: deps.settings, now });
  let sweeping: Promise<unknown> | undefined;
  const cleanup = async (): Promise<{ abandoned: number; unreferenced: number }> => {
    const report = await sweeper.runOnce();
    events?.deleted("abandoned", report.abandoned);
    events?.deleted("unreferenced", report.unreferenced);
    if (report.abandoned + report.unreferenced > 0) deps.log.info(report, "media cleanup");
    return report;
  };
  const timer =
    deps.cleanupIntervalMs > 0
      ? setInterval(() => {
          // One pass at a time: a slow blob store must not stack passes.
          if (sweeping) return;
          sweeping = cleanup()
            .catch((err: unknown) => deps.log.warn({ err }, "media cleanup failed; it runs again on the next interval"))
            .finally(() => (sweeping = undefined));
        }, deps.cleanupIntervalMs)
      : undefined;
  timer?.unref();
  return {
    routes: [mediaRoute({ verifier: deps.verifier, media }), mediaRefsRoute({ media })],
    httpRoutes: deps.blobRoutes ?? {},
    media,
    cleanup,
    async close() {
      if (timer) clearInterval(timer);
      await sweeping;
      await deps.blobs.close();
      await deps.repo.close();
    },
  };
}
