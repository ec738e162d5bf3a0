import { clearLine, createInterface, cursorTo, moveCursor, type Interface } from "node:readline";

/** What the chat loop hears from the terminal. */
export interface TerminalHandlers {
  line(text: string): void;
  /** Ctrl-C at the prompt. */
  interrupt(): void;
  /** End of input (Ctrl-D, or the end of piped stdin). */
  end(): void;
  /** A printable key was pressed (interactive terminals only), with the line typed so far. */
  keypress(line: string): void;
}

/**
 * The chat's screen: lines are printed above the input line, which is redrawn with what the
 * user was typing. On a pipe it degrades to plain line-by-line input and output.
 */
export class Terminal {
  readonly interactive: boolean;
  private rl: Interface | undefined;
  private closed = false;
  private readonly onKeypress = (s: unknown): void => {
    if (typeof s !== "string" || s === "" || /[\u0000-\u001f\u007f]/.test(s)) return;
    // Readline may not have added this key to its line yet: the first key is the line then.
    const line = this.rl?.line ?? "";
    this.handlers?.keypress(line === "" ? s : line);
  };
  private handlers: TerminalHandlers | undefined;

  constructor(
    private readonly input: NodeJS.ReadStream,
    private readonly output: NodeJS.WriteStream,
  ) {
    this.interactive = Boolean(input.isTTY && output.isTTY);
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
    const rl = createInterface({ input: this.input, output: this.output, terminal: this.interactive, historySize: 100 });
    this.rl = rl;
    rl.on("line", (line) => {
      if (this.interactive) {
        // The typed line comes back as a "[seq] me: ..." line once sent; drop the echo.
        moveCursor(this.output, 0, -1);
        clearLine(this.output, 0);
        rl.prompt();
      }
      handlers.line(line);
    });
    rl.on("SIGINT", () => handlers.interrupt());
    rl.on("close", () => {
      if (!this.closed) {
        this.closed = true;
        handlers.end();
      }
    });
    if (this.interactive) {
      this.input.on("keypress", this.onKeypress);
      rl.setPrompt("> ");
      rl.prompt();
    }
  }

  /** Stops reading; input is released so the process can exit. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.input.off("keypress", this.onKeypress);
    if (this.rl && this.interactive) {
      clearLine(this.output, 0);
      cursorTo(this.output, 0);
    }
    this.rl?.close();
  }
}
