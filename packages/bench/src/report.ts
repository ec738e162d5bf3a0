import { median } from "./stats.js";

/** One measured quantity over several rounds, with the CPU% of each process per round. */
export interface Figure {
  readonly scenario: string;
  readonly name: string;
  readonly unit: string;
  readonly rounds: number[];
  /** CPU% (100 = one core) per process, one value per round. */
  readonly cpu: Record<string, number[]>;
  /** What this figure is compared with, measured in the same run. */
  readonly baseline?: { readonly name: string; readonly value: number };
  readonly note?: string;
  /** Its cell in the "1:1 chat and groups" table printed after the main one. */
  readonly compare?: { readonly target: string; readonly traffic: string; readonly metric: CompareMetric | readonly CompareMetric[] };
}

/** The columns of the "1:1 chat and groups" table. */
export type CompareMetric = "delivered/s" | "msgs/s" | "p50" | "p99" | "rows/msg";

const fmt = (x: number): string =>
  !Number.isFinite(x) ? "-" : Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2);

/** The printed table: median [min..max] per figure, CPU% medians, ratio to the baseline. */
export function renderTable(figures: readonly Figure[]): string {
  const rows = figures.map((f) => {
    const cpu = Object.entries(f.cpu)
      .map(([p, v]) => `${p} ${fmt(median(v))}%`)
      .join(", ");
    const m = median(f.rounds);
    const ratio = f.baseline ? ` = ${fmt((100 * m) / f.baseline.value)}% of ${f.baseline.name} (${fmt(f.baseline.value)})` : "";
    return [
      f.scenario,
      f.name,
      `${fmt(m)} ${f.unit}`,
      `[${fmt(Math.min(...f.rounds))}..${fmt(Math.max(...f.rounds))}] n=${f.rounds.length}`,
      cpu + ratio + (f.note ? ` — ${f.note}` : ""),
    ];
  });
  const header = ["scenario", "figure", "median", "min..max", "CPU% (median per process), baseline"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i < cells.length - 1 ? c.padEnd(widths[i]!) : c)).join("  ");
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

const compareColumns: { metric: CompareMetric; title: string }[] = [
  { metric: "delivered/s", title: "delivered/s at saturation" },
  { metric: "msgs/s", title: "messages/s" },
  { metric: "p50", title: "p50 ms (at ½ sat.)" },
  { metric: "p99", title: "p99 ms" },
  { metric: "rows/msg", title: "store rows/msg" },
];

/**
 * The 1:1 chat and group figures of the run side by side, one line per target and kind of
 * traffic, each cell median [min..max]; "" when no figure carries a `compare` cell.
 */
export function renderComparison(figures: readonly Figure[]): string {
  const tagged = figures.filter((f) => f.compare);
  if (tagged.length === 0) return "";
  const lines = new Map<string, Map<CompareMetric, Figure>>();
  for (const f of tagged) {
    const key = `${f.compare!.target}\u0000${f.compare!.traffic}`;
    let line = lines.get(key);
    if (!line) lines.set(key, (line = new Map()));
    for (const metric of typeof f.compare!.metric === "string" ? [f.compare!.metric] : f.compare!.metric) line.set(metric, f);
  }
  const cell = (f: Figure | undefined): string => (f ? `${fmt(median(f.rounds))} [${fmt(Math.min(...f.rounds))}..${fmt(Math.max(...f.rounds))}]` : "-");
  const header = ["target", "traffic", ...compareColumns.map((c) => c.title)];
  // Grouped by target (in the order first seen), then in the order the figures came.
  const targets = [...new Set(tagged.map((f) => f.compare!.target))];
  const rows = [...lines]
    .map(([key, cells]) => [...key.split("\u0000"), ...compareColumns.map((c) => cell(cells.get(c.metric)))])
    .sort((a, b) => targets.indexOf(a[0]!) - targets.indexOf(b[0]!));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i < cells.length - 1 ? c.padEnd(widths[i]!) : c)).join("  ");
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
