import type { BlobStore } from "@messenger/blobs";
import type { MediaRecord, MediaRepository } from "../storage/media-repository.js";
import type { MediaSettings } from "./media-settings.js";
import { originalKey, thumbnailKey, uploadKey } from "./media-use-cases.js";
import type { ConversationAccess } from "./ports.js";

/** What one cleanup pass deleted. */
export interface CleanupReport {
  /** Uploads never completed, past their URL's expiry and the grace after it. */
  readonly abandoned: number;
  /** Completed media no stored message references (never sent, or every message gone). */
  readonly unreferenced: number;
}

export interface MediaCleanupDeps {
  readonly repo: MediaRepository;
  readonly blobs: BlobStore;
  readonly access: ConversationAccess;
  readonly settings: MediaSettings;
  readonly now: () => number;
}

const keysOf = (r: MediaRecord): string[] => [uploadKey(r.id), originalKey(r.id), thumbnailKey(r.id)];

/**
 * Deletes what nothing will use, a bounded batch per pass: abandoned uploads, completed
 * media never sent once they are old enough to have been, and sent media whose messages are
 * all gone (retention) once the grace for sends in flight has passed. The
 * store's references are the truth (they are written with the messages), so a media whose
 * last message was deleted goes on a later pass. The unreferenced scan walks all completed
 * media by id, `batch` at a time, resuming where the last pass stopped.
 */
export function mediaCleanup(deps: MediaCleanupDeps, batch = 200) {
  let cursor = "";
  async function remove(records: readonly MediaRecord[]): Promise<void> {
    if (records.length === 0) return;
    // Blobs first: a record left without blobs is retried; blobs left without a record would leak.
    await deps.blobs.remove(records.flatMap(keysOf));
    await deps.repo.delete(records.map((r) => r.id));
  }
  return {
    async runOnce(): Promise<CleanupReport> {
      const now = deps.now();
      const abandoned = await deps.repo.abandonedUploads(now - deps.settings.abandonedAfterMs, batch);
      await remove(abandoned);
      const page = await deps.repo.readyMedia(now, cursor, batch);
      cursor = page.length < batch ? "" : page.at(-1)!.id;
      // A media a send named goes as soon as no message references it (its messages were
      // deleted), once no send can be in flight; one never sent, after the longer wait.
      const settled = page.filter((r) =>
        r.lastResolvedAt !== undefined ? r.lastResolvedAt < now - deps.settings.resolveGraceMs : r.ready!.completedAt < now - deps.settings.unreferencedAfterMs,
      );
      const referenced = settled.length > 0 ? await deps.access.referenced(settled.map((r) => r.id)) : new Set<string>();
      const unreferenced = settled.filter((r) => !referenced.has(r.id));
      await remove(unreferenced);
      return { abandoned: abandoned.length, unreferenced: unreferenced.length };
    },
  };
}
