/**
 * The longest text one message may hold: the message store refuses longer ones (maxTextChars
 * in services/store/src/domain/limits.ts), counted in UTF-16 code units as JavaScript's
 * `length` counts them.
 */
export const maxMessageChars = 16_384;

/** What a terminal sends around pasted text once bracketed paste mode is on (`\x1b[?2004h`). */
export const pasteStart = "\x1b[200~";
export const pasteEnd = "\x1b[201~";

/** Options of a LineLimit. */
export interface LineLimitOptions {
  /** Characters a line may have; one more and the line is cut. */
  readonly maxChars: number;
  /** What ends the line that was cut, for the line reader behind: "\r" (Enter) on a terminal, "\n" on a pipe. */
  readonly lineEnd: "\r" | "\n";
  /** Characters passed on even inside a dropped line (Ctrl-C on a terminal in raw mode). */
  readonly keep?: string;
  /**
   * The length of the line the reader behind holds now (edits included), asked once a line
   * looks too long from the characters passed on, which also count editing keys.
   */
  readonly lineLength?: () => number;
}

/**
 * Passes input on to a line reader (readline) with no line longer than `maxChars` + 1: once a
 * line passes the limit it is ended there, so the reader hands over a line longer than any
 * message may be (to refuse at once, with the limit in the message), and everything after it
 * up to the end of that line, or of the paste it came in, is dropped. Each chunk is read in
 * one pass, so a pasted megabyte costs what reading it costs; the reader never holds more
 * than a message. Bracketed-paste markers are removed.
 */
export class LineLimit {
  /** Characters passed on in the current line, as counted from the input. */
  private length = 0;
  private dropping = false;
  private inPaste = false;
  /** The start of a paste marker that the last chunk ended with, kept for the next one. */
  private carry = "";

  constructor(private readonly opts: LineLimitOptions) {}

  /** True while the rest of a cut line is dropped up to the next line end (not just to the end of a paste). */
  get droppingUntilLineEnd(): boolean {
    return this.dropping && !this.inPaste;
  }

  /** What to pass on of the next chunk of input. */
  feed(chunk: string): string {
    let text = this.carry + chunk;
    this.carry = partialMarkerAtEnd(text);
    if (this.carry !== "") text = text.slice(0, text.length - this.carry.length);
    let out = "";
    /** Where the run of characters to pass on as they are began. */
    let runStart = 0;
    /** Characters of the current line passed on before this chunk (length at the start). */
    let lineStartInChunk = 0;
    const keep = this.opts.keep ?? "";
    let i = 0;
    while (i < text.length) {
      const c = text[i]!;
      if (c === "\x1b" && (text.startsWith(pasteStart, i) || text.startsWith(pasteEnd, i))) {
        if (!this.dropping) out += text.slice(runStart, i);
        const ending = text.startsWith(pasteEnd, i);
        i += pasteStart.length;
        runStart = i;
        if (ending && this.inPaste && this.dropping) {
          // The rest of the paste is gone: what is typed next starts afresh.
          this.dropping = false;
          this.length = 0;
          lineStartInChunk = out.length;
        }
        this.inPaste = !ending;
        continue;
      }
      if (this.dropping) {
        if (c === "\r" || c === "\n") {
          this.dropping = false;
          this.length = 0;
          i += c === "\r" && text[i + 1] === "\n" ? 2 : 1;
          runStart = i;
          lineStartInChunk = out.length;
          continue;
        }
        if (keep.includes(c)) out += c;
        i++;
        runStart = i;
        continue;
      }
      if (c === "\r" || c === "\n") {
        this.length = 0;
        i++;
        lineStartInChunk = out.length + (i - runStart);
        continue;
      }
      this.length++;
      if (this.length > this.opts.maxChars && this.opts.lineLength) {
        // Editing keys counted as characters: ask the reader what it holds.
        const passedInChunk = out.length + (i - runStart) - lineStartInChunk;
        this.length = this.opts.lineLength() + passedInChunk + 1;
      }
      i++;
      if (this.length > this.opts.maxChars) {
        out += text.slice(runStart, i) + this.opts.lineEnd;
        runStart = i;
        this.dropping = true;
        this.length = 0;
      }
    }
    if (!this.dropping) out += text.slice(runStart);
    return out;
  }
}

/** The longest end of `text` that begins a paste marker (and is not all of one). */
function partialMarkerAtEnd(text: string): string {
  const from = text.lastIndexOf("\x1b");
  if (from < 0 || text.length - from >= pasteStart.length) return "";
  const tail = text.slice(from);
  return pasteStart.startsWith(tail) || pasteEnd.startsWith(tail) ? tail : "";
}
