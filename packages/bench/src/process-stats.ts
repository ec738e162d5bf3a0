import { readFileSync } from "node:fs";

const ticksPerSecond = 100; // USER_HZ on Linux

/** CPU time (user + system) of a process, in seconds. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name, which may contain spaces, closed by the last ')'.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

/** Resident set size of a process, in bytes. */
export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : 0;
}

/** Measures the CPU% (100 = one core) of named processes over a window. */
export class CpuMeter {
  private readonly start = new Map<string, number>();
  private readonly t0 = performance.now();

  constructor(private readonly pids: Record<string, number>) {
    for (const [name, pid] of Object.entries(pids)) this.start.set(name, cpuSeconds(pid));
  }

  /** CPU% of each process since construction. */
  read(): Record<string, number> {
    const seconds = (performance.now() - this.t0) / 1000;
    const out: Record<string, number> = {};
    for (const [name, pid] of Object.entries(this.pids)) {
      try {
        out[name] = (100 * (cpuSeconds(pid) - (this.start.get(name) ?? 0))) / seconds;
      } catch {
        out[name] = Number.NaN;
      }
    }
    return out;
  }
}
