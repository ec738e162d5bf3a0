import { Counter, Histogram, type Registry } from "prom-client";
import type { MediaEvents } from "./domain/media-use-cases.js";

/** The media service's counters, on the service's registry, as the use cases' events. */
export function mediaMetrics(registry: Registry): MediaEvents & { deleted(why: "abandoned" | "unreferenced", n: number): void } {
  const registers = [registry];
  const uploads = new Counter({ name: "messenger_media_uploads_total", help: "Uploads by stage: created (URL handed out) or completed (checked and stored), by kind", labelNames: ["stage", "kind"], registers });
  const bytes = new Counter({ name: "messenger_media_bytes_total", help: "Bytes of completed uploads as stored", labelNames: ["kind"], registers });
  const thumbnailSeconds = new Histogram({
    name: "messenger_media_image_processing_seconds",
    help: "Time to re-encode an image without metadata and make its thumbnail and preview (once it has a processing slot: waiting is not counted)",
    buckets: [0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 2, 5],
    registers,
  });
  const rejects = new Counter({ name: "messenger_media_rejects_total", help: "Refused uploads by reason (too_large, quota, invalid, size_mismatch, sha256_mismatch, bad_image, busy)", labelNames: ["reason"], registers });
  const deleted = new Counter({ name: "messenger_media_deleted_total", help: "Media deleted by the cleanup: abandoned uploads, unreferenced media", labelNames: ["why"], registers });
  return {
    uploadCreated: () => uploads.inc({ stage: "created", kind: "any" }),
    completed(kind, size) {
      uploads.inc({ stage: "completed", kind });
      bytes.inc({ kind }, size);
    },
    imageProcessed: (seconds) => thumbnailSeconds.observe(seconds),
    rejected: (reason) => rejects.inc({ reason }),
    deleted: (why, n) => deleted.inc({ why }, n),
  };
}
