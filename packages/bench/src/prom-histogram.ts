// A Prometheus histogram read from a /metrics page, and quantiles of what it observed between
// two readings.
import { metricValue } from "./store-counters.js";

/** Cumulative bucket counts by upper bound, sum and count. */
export interface HistogramReading {
  readonly buckets: Map<number, number>;
  readonly sum: number;
  readonly count: number;
}

/** The histogram `name` on a Prometheus text page (the system adds labels of its own, e.g. service="messenger", beside le). */
export function readHistogram(text: string, name: string): HistogramReading {
  const buckets = new Map<number, number>();
  for (const m of text.matchAll(new RegExp(`^${name}_bucket\\{[^}]*\\ble="([^"]+)"[^}]*\\} (\\S+)$`, "gm"))) {
    const le = m[1] === "+Inf" ? Infinity : Number(m[1]);
    buckets.set(le, (buckets.get(le) ?? 0) + Number(m[2]));
  }
  return { buckets, sum: metricValue(text, `${name}_sum`), count: metricValue(text, `${name}_count`) };
}

/**
 * The upper bound of the bucket holding the q-quantile of what a histogram observed between
 * two readings: the quantile is at most this. Not interpolated, because buckets are wide and
 * a linear guess inside one lands far from the truth; Infinity when it falls past the last
 * finite bound, NaN when nothing was observed.
 */
export function histogramQuantileBound(before: HistogramReading, after: HistogramReading, q: number): number {
  const bounds = [...after.buckets.keys()].sort((a, b) => a - b);
  const counts = bounds.map((le) => after.buckets.get(le)! - (before.buckets.get(le) ?? 0));
  const total = counts.at(-1) ?? 0;
  if (total === 0) return Number.NaN;
  return bounds[counts.findIndex((c) => c >= q * total)] ?? Number.NaN;
}
