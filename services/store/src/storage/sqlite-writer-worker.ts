// The history writer thread: owns the one writing connection and commits each batch the
// store's thread sends. Its fsync blocks only this thread, never the event loop that serves
// requests.
import { parentPort, workerData } from "node:worker_threads";
import { openHistoryDatabase } from "./sqlite-schema.js";
import { historyWrites, type RowsWritten, type WriteOp, type WriteOutcome } from "./sqlite-writes.js";

/** A message to the writer thread. */
export type WriterRequest = { readonly kind: "commit"; readonly batch: number; readonly ops: readonly WriteOp[] } | { readonly kind: "close" };

/** A message from the writer thread. */
export type WriterReply =
  | { readonly kind: "ready" }
  | { readonly kind: "committed"; readonly batch: number; readonly outcomes: WriteOutcome[]; readonly rows: RowsWritten };

const port = parentPort!;
const data = workerData as { path: string; largeGroupThreshold: number };
const db = openHistoryDatabase(data.path);
const writes = historyWrites(db, { largeGroupThreshold: data.largeGroupThreshold });
port.on("message", (req: WriterRequest) => {
  if (req.kind === "close") {
    db.close();
    port.close();
    return;
  }
  const outcomes = writes.commit(req.ops);
  port.postMessage({ kind: "committed", batch: req.batch, outcomes, rows: writes.takeRowsWritten() } satisfies WriterReply);
});
port.postMessage({ kind: "ready" } satisfies WriterReply);
