import { formatBytes, printable } from "./format.js";

/** Where a progress display goes: rewritten in place on a terminal, a few lines on a pipe. */
export interface ProgressOutput {
  /** True on a terminal: one line is rewritten in place. */
  readonly interactive: boolean;
  /** Writes raw text (escape sequences included) to the terminal, no newline added. */
  write(raw: string): void;
  /** Prints a whole line, as every other line of the chat is printed. */
  print(line: string): void;
}

/** Cells of the bar between the brackets. */
const barCells = 18;
/** On a pipe, the percentages that get a line (each once), so logs stay readable. */
const pipeSteps = [0, 50, 100] as const;
const clearLineAndReturn = "\r\x1b[2K";

/** `uploading photo.jpg [#########.........] 48% 120.0 KB/250.0 KB`. */
function progressLine(label: string, fileName: string, sent: number, total: number): string {
  const ratio = total > 0 ? Math.min(1, Math.max(0, sent / total)) : 1;
  const filled = Math.round(ratio * barCells);
  const percent = Math.floor(ratio * 100);
  return `${label} ${printable(fileName)} [${"#".repeat(filled)}${".".repeat(barCells - filled)}] ${percent}% ${formatBytes(BigInt(sent))}/${formatBytes(BigInt(total))}`;
}

/**
 * The progress of one transfer. On a terminal the line under the output is redrawn only when
 * the percentage moves (a large upload reports every 64 KiB); the next printed line replaces
 * it and brings the prompt back. On a pipe only 0, 50 and 100% are printed.
 */
export class ProgressBar {
  private lastPercent = -1;
  private nextStep = 0;
  private drawn = false;

  constructor(
    private readonly out: ProgressOutput,
    private readonly label: string,
    private readonly fileName: string,
  ) {}

  update(sent: number, total: number): void {
    const percent = total > 0 ? Math.floor((Math.min(sent, total) / total) * 100) : 100;
    if (this.out.interactive) {
      if (percent === this.lastPercent) return;
      this.lastPercent = percent;
      this.drawn = true;
      this.out.write(`${clearLineAndReturn}${progressLine(this.label, this.fileName, sent, total)}`);
      return;
    }
    let step: number | undefined;
    while (this.nextStep < pipeSteps.length && percent >= pipeSteps[this.nextStep]!) step = pipeSteps[this.nextStep++];
    if (step === undefined) return;
    // The line says the step reached, so the pipe shows 50%, not whatever odd number passed it.
    const shown = step === percent ? sent : Math.round((step / 100) * total);
    this.out.print(progressLine(this.label, this.fileName, shown, total));
  }

  /** Takes the bar off a terminal line (a failed upload leaves no half-drawn bar behind). */
  clear(): void {
    if (!this.drawn) return;
    this.drawn = false;
    this.out.write(clearLineAndReturn);
  }
}
