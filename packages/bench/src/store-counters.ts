// The store's write counters (services/store/src/store-metrics.ts), read from /metrics, so a
// scenario can report rows written per message stored.
import type { LocalCluster } from "@messenger/testing";

/** Rows written by kind of write, and messages stored (duplicates excluded), since start. */
export interface StoreCounters {
  readonly append: number;
  readonly updateCursor: number;
  readonly messages: number;
}

/** Sums a metric's samples whose labels include `labels`, from a Prometheus text page. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[3] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[4]);
  }
  return sum;
}

const rows = "messenger_store_rows_written_total";
const stored = "messenger_store_messages_stored_total";

/** The one-process system's counters, on its HTTP port's /metrics. */
export async function oneProcessStoreCounters(httpPort: number): Promise<StoreCounters> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  return { append: metricValue(text, rows, { kind: "append" }), updateCursor: metricValue(text, rows, { kind: "updateCursor" }), messages: metricValue(text, stored) };
}

/** The cluster's counters, on the store process's /metrics. */
export async function clusterStoreCounters(c: LocalCluster): Promise<StoreCounters> {
  const [append, updateCursor, messages] = await Promise.all([c.store.metric(rows, { kind: "append" }), c.store.metric(rows, { kind: "updateCursor" }), c.store.metric(stored)]);
  return { append, updateCursor, messages };
}

/** Δrows_written{kind="append"} / Δmessages_stored between two readings. */
export function appendRowsPerMessage(before: StoreCounters, after: StoreCounters): number {
  return (after.append - before.append) / (after.messages - before.messages);
}
