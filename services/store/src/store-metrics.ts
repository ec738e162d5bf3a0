import { Counter, Gauge } from "prom-client";
import type { ServiceMetrics } from "@messenger/rpc";
import type { Logger } from "@messenger/logging";
import type { ArchiveEvents } from "./app.js";
import type { RetentionSweepEvents } from "./domain/retention.js";
import type { RowsWritten } from "./storage/sqlite-writes.js";

/**
 * The store's write cost: rows written per kind of write and messages stored, so that
 * "rows per message" can be watched (it must not grow with the group size).
 */
export function storeWriteMetrics(m: ServiceMetrics): (rows: RowsWritten, messagesStored: number) => void {
  const registers = [m.registry];
  const rowsWritten = new Counter({ name: "messenger_store_rows_written_total", help: "Rows the history store wrote, by kind of write", labelNames: ["kind"], registers });
  const messages = new Counter({ name: "messenger_store_messages_stored_total", help: "New messages stored (duplicates excluded)", registers });
  return (rows, messagesStored) => {
    for (const [kind, n] of Object.entries(rows)) if (n > 0) rowsWritten.inc({ kind }, n);
    if (messagesStored > 0) messages.inc(messagesStored);
  };
}

/** What the retention sweeper deletes, and whether it is behind (a pass cut short by its batch). */
export function retentionMetrics(m: ServiceMetrics): RetentionSweepEvents {
  const registers = [m.registry];
  const deleted = new Counter({
    name: "messenger_store_retention_deleted_total",
    help: "Messages deleted because their conversation's retention said they were gone, by retention mode",
    labelNames: ["mode"],
    registers,
  });
  const behind = new Gauge({ name: "messenger_store_retention_behind", help: "1 while more messages are due than the last retention pass could delete (it runs again at once)", registers });
  return {
    swept(d) {
      for (const [mode, n] of Object.entries(d.byMode)) if (n > 0) deleted.inc({ mode }, n);
      behind.set(d.more ? 1 : 0);
    },
  };
}

/** What the archiver moved to the blob store, and what retention's deletions took out of it. */
export function archiveMetrics(m: ServiceMetrics, log: Logger): ArchiveEvents {
  const registers = [m.registry];
  const corrupt = new Counter({ name: "messenger_store_archive_corrupt_reads_total", help: "History reads refused with DATA_LOSS because an archived segment was corrupt or missing", labelNames: ["reason"], registers });
  const segments = new Counter({ name: "messenger_store_archive_segments_total", help: "Segments of old messages written to the blob store and committed", registers });
  const messages = new Counter({ name: "messenger_store_archive_messages_total", help: "Messages moved from the database into archived segments", registers });
  const bytes = new Counter({ name: "messenger_store_archive_bytes_total", help: "Compressed bytes of the archived segments written", registers });
  const conflicts = new Counter({ name: "messenger_store_archive_conflicts_total", help: "Segments written but not committed because their rows changed meanwhile (their blobs removed)", registers });
  const collected = new Counter({
    name: "messenger_store_archive_collected_total",
    help: "Archived segments dropped or rewritten because retention deleted messages in them, and garbage blobs deleted",
    labelNames: ["what"],
    registers,
  });
  return {
    archived(run) {
      segments.inc(run.segments);
      messages.inc(run.messages);
      bytes.inc(run.bytes);
      conflicts.inc(run.conflicts);
    },
    corrupt(err) {
      corrupt.inc({ reason: err.reason });
      log.error({ err }, "an archived segment cannot be read back intact; the read was refused with DATA_LOSS");
    },
    collected(c) {
      collected.inc({ what: "dropped" }, c.dropped);
      collected.inc({ what: "rewritten" }, c.rewritten);
      collected.inc({ what: "blob_deleted" }, c.blobsDeleted);
    },
  };
}
