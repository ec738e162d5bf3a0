import { createInterface } from "node:readline";
import { Writable } from "node:stream";

/** The user pressed Ctrl-C or Ctrl-D at a prompt. */
export class PromptCancelled extends Error {
  override readonly name = "PromptCancelled";
  constructor() {
    super("cancelled");
  }
}

/** No password in the environment and no terminal to ask on. */
export class NoPasswordError extends Error {
  override readonly name = "NoPasswordError";
  constructor() {
    super("no password: set MESSENGER_PASSWORD or run in a terminal");
  }
}

export interface PasswordSource {
  readonly env: NodeJS.ProcessEnv;
  readonly input: NodeJS.ReadStream;
  /** Where the prompt goes (stderr, so stdout stays the chat). */
  readonly output: NodeJS.WritableStream;
}

/**
 * The password from MESSENGER_PASSWORD, or else asked for with hidden input when stdin is a
 * terminal. With `confirm`, a prompted password is asked twice and must match.
 */
export async function readPassword(username: string, src: PasswordSource, opts: { confirm?: boolean } = {}): Promise<string> {
  const fromEnv = src.env.MESSENGER_PASSWORD;
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  if (!src.input.isTTY) throw new NoPasswordError();
  const password = await promptHidden(`Password for ${username}: `, src.input, src.output);
  if (opts.confirm && (await promptHidden("Repeat password: ", src.input, src.output)) !== password) {
    throw new Error("the passwords do not match");
  }
  return password;
}

/** Asks one line on a terminal without echoing it (nor keeping it in line history). */
export function promptHidden(prompt: string, input: NodeJS.ReadStream, output: NodeJS.WritableStream): Promise<string> {
  output.write(prompt);
  // Everything readline would echo (the typed characters, cursor moves) is discarded.
  const muted = new Writable({
    write(_chunk: unknown, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
      done();
    },
  });
  const rl = createInterface({ input, output: muted, terminal: true, historySize: 0 });
  return new Promise<string>((resolve, reject) => {
    let answered = false;
    rl.on("SIGINT", () => rl.close());
    rl.on("close", () => {
      output.write("\n");
      if (!answered) reject(new PromptCancelled());
    });
    rl.question("", (answer) => {
      answered = true;
      resolve(answer);
      rl.close();
    });
  });
}
