import { Counter, Gauge } from "prom-client";
import type { ServiceMetrics } from "@messenger/rpc";
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
