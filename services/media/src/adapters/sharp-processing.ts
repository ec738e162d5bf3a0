import sharp from "sharp";
import { mediaError } from "../domain/media-error.js";
import type { MediaSettings } from "../domain/media-settings.js";
import type { MediaProcessing } from "../domain/ports.js";
import { ImageRejectedError, processImage } from "../processing/image.js";
import { ProcessingQueue, ProcessingQueueFullError } from "../processing/processing-queue.js";
import { sniffable, sniffType } from "../processing/sniff.js";

/** How much image work runs at once, and how much may wait (MEDIA_PROCESSING_CONCURRENCY, _QUEUE_LIMIT). */
export interface ProcessingLimits {
  readonly concurrency: number;
  readonly maxQueued: number;
}

// Each upload is decoded once: libvips' operation cache would only hold memory.
sharp.cache(false);

/** Sniffing with file-type and image work with sharp, behind a bounded queue. */
export function sharpProcessing(limits: ProcessingLimits, settings: MediaSettings): MediaProcessing {
  const queue = new ProcessingQueue(limits);
  const imageLimits = { maxPixels: settings.maxImagePixels, thumbnailMaxSide: settings.thumbnailMaxSide, previewMaxBytes: settings.previewMaxBytes };
  return {
    sniffBytes: sniffable(),
    async sniff(head) {
      const s = await sniffType(head);
      return { mimeType: s.mimeType, kind: s.kind, executable: s.executable };
    },
    async processImage(bytes) {
      try {
        return await queue.run(async () => {
          const started = performance.now();
          const image = await processImage(bytes, imageLimits);
          return { ...image, processingSeconds: (performance.now() - started) / 1000 };
        });
      } catch (err) {
        if (err instanceof ImageRejectedError) throw mediaError("invalid_argument", `not a usable image: ${err.message}`);
        if (err instanceof ProcessingQueueFullError) throw mediaError("resource_exhausted", "the media service is busy processing images; try again shortly");
        throw err;
      }
    },
  };
}
