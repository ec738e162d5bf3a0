import { clearLine, clearScreenDown, createInterface, cursorTo, moveCursor, type Interface } from "node:readline";
import { PassThrough } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { LineLimit, maxMessageChars } from "./line-limit.js";

/** What the chat loop hears from the terminal. */
export interface TerminalHandlers {
  line(text: string): void;
  /** Ctrl-C at the prompt. */
  interrupt(): void;
  /** End of input (Ctrl-D, or the end of piped stdin). */
  end(): void;
  /**
   * A printable key was pressed (interactive terminals only): `Terminal.draft` has the line
   * so far, unless readline has not added the key yet (then it is empty).
   */
  keypress(key: string): void;
}

const bracketedPasteOn = "\x1b[?2004h";
const bracketedPasteOff = "\x1b[?2004l";

/**
 * What readline reads: the input after the line limit, with the raw-mode switch of the real
 * terminal (readline turns raw mode on and off itself, e.g. around Ctrl-Z).
 */
class LimitedInput extends PassThrough {
  readonly isTTY: boolean;

  constructor(private readonly tty: NodeJS.ReadStream) {
    super();
    this.isTTY = Boolean(tty.isTTY);
  }

  get isRaw(): boolean {
    return Boolean(this.tty.isRaw);
  }

  setRawMode(mode: boolean): this {
    this.tty.setRawMode?.(mode);
    return this;
  }
}

/**
 * The chat's screen: lines are printed above the input line, which is redrawn with what the
 * user was typing. On a pipe it degrades to plain line-by-line input and output. Input goes
 * through a LineLimit before readline, so no line longer than a message reaches it: a huge
 * paste is cut at once and costs one pass over its bytes, and Ctrl-C inside it still counts.
 */
export class Terminal {
  readonly interactive: boolean;
  /** True when the output is a terminal that shows colours (and NO_COLOR is not set). */
  readonly colors: boolean;
  private rl: Interface | undefined;
  private closed = false;
  private handlers: TerminalHandlers | undefined;
  private readonly onKeypress = (s: unknown): void => {
    if (typeof s !== "string" || s === "" || /[\u0000-\u001f\u007f]/.test(s)) return;
    this.handlers?.keypress(s);
  };
  private readonly decoder = new StringDecoder("utf8");
  private limited: LimitedInput | undefined;
  private readonly onData = (chunk: Buffer | string): void => {
    const text = this.limit?.feed(typeof chunk === "string" ? chunk : this.decoder.write(chunk)) ?? "";
    if (text !== "") this.limited?.write(text);
  };
  private readonly onInputEnd = (): void => {
    this.limited?.end();
  };
  private limit: LineLimit | undefined;

  constructor(
    private readonly input: NodeJS.ReadStream,
    private readonly output: NodeJS.WriteStream,
  ) {
    this.interactive = Boolean(input.isTTY && output.isTTY);
    this.colors = this.interactive && typeof output.hasColors === "function" && output.hasColors();
  }

  /** True while what comes in is dropped up to the next Enter: the rest of a line too long for a message (pasted without paste markers). */
  get droppingUntilEnter(): boolean {
    return this.limit?.droppingUntilLineEnd ?? false;
  }

  /** The line being typed (empty on a pipe). */
  get draft(): string {
    return this.rl?.line ?? "";
  }

  /** Prints one line (or several) without disturbing the input line. */
  print(text: string): void {
    if (this.closed || !this.rl || !this.interactive) {
      this.output.write(`${text}\n`);
      return;
    }
    clearLine(this.output, 0);
    cursorTo(this.output, 0);
    this.output.write(`${text}\n`);
    this.rl.prompt(true);
  }

  /** Starts reading lines. */
  start(handlers: TerminalHandlers): void {
    if (this.rl) throw new Error("terminal already started");
    this.handlers = handlers;
    const limited = new LimitedInput(this.input);
    this.limited = limited;
    this.limit = new LineLimit({
      maxChars: maxMessageChars,
      lineEnd: this.interactive ? "\r" : "\n",
      keep: this.interactive ? "\x03" : "",
      lineLength: () => this.rl?.line.length ?? 0,
    });
    const rl = createInterface({ input: limited, output: this.output, terminal: this.interactive, historySize: 100 });
    this.rl = rl;
    rl.on("line", (line) => {
      if (this.interactive) {
        // The typed line comes back as a "[seq] me: ..." line once sent; drop the echo,
        // every row of it.
        moveCursor(this.output, 0, -echoRows(line, this.output.columns));
        cursorTo(this.output, 0);
        clearScreenDown(this.output);
        rl.prompt();
      }
      handlers.line(line);
    });
    rl.on("SIGINT", () => handlers.interrupt());
    rl.on("close", () => {
      if (!this.closed) {
        this.closed = true;
        this.release();
        handlers.end();
      }
    });
    this.input.on("data", this.onData);
    this.input.once("end", this.onInputEnd);
    // A password prompt before may have paused it: a new 'data' listener does not resume it then.
    this.input.resume();
    if (this.interactive) {
      limited.on("keypress", this.onKeypress);
      // Pastes come marked, so a cut paste ends where the paste does, not at the next Enter.
      this.output.write(bracketedPasteOn);
      rl.setPrompt("> ");
      rl.prompt();
    }
  }

  /** Stops reading; input is released so the process can exit. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.limited?.off("keypress", this.onKeypress);
    if (this.rl && this.interactive) {
      clearLine(this.output, 0);
      cursorTo(this.output, 0);
    }
    this.rl?.close();
    this.release();
  }

  private release(): void {
    this.input.off("data", this.onData);
    this.input.off("end", this.onInputEnd);
    this.input.pause();
    if (this.interactive) this.output.write(bracketedPasteOff);
  }
}

/** Rows the prompt and a submitted line took on screen (wide characters counted twice). */
function echoRows(line: string, columns: number | undefined): number {
  let width = 2;
  for (const ch of line) width += wide.test(ch) ? 2 : 1;
  return columns && columns > 0 ? Math.max(1, Math.ceil(width / columns)) : 1;
}

/** East Asian wide and fullwidth characters and the common emoji blocks: two columns each. */
const wide = /[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6\u{1f300}-\u{1f64f}\u{1f900}-\u{1f9ff}\u{20000}-\u{3fffd}]/u;
