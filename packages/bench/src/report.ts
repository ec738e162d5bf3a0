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
}

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
