import { UsageError, parseCommand, usage, type Command } from "./args.js";
import { runChat, type Io } from "./chat.js";
import { describeError } from "./errors.js";
import { PromptCancelled } from "./password-prompt.js";
import { runRegister } from "./register.js";

/** Exit codes: 0 done, 1 failed (one line on stderr), 2 bad command line, 130 cancelled at a prompt. */
async function main(argv: readonly string[], io: Io): Promise<number> {
  let command: Command;
  try {
    command = parseCommand(argv, io.env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr.write(`messenger: ${err.message}\n\n${usage}\n`);
    return 2;
  }
  switch (command.kind) {
    case "help":
      io.stdout.write(`${usage}\n`);
      return 0;
    case "register":
      return runRegister(command, io);
    case "chat":
    case "open":
    case "group":
      return runChat(command, io);
  }
}

const io: Io = { env: process.env, stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };

main(process.argv.slice(2), io).then(
  (code) => finish(code),
  (err: unknown) => {
    if (err instanceof PromptCancelled) return finish(130);
    io.stderr.write(`messenger: ${describeError(err)}\n`);
    finish(1);
  },
);

/** Sets the exit code and lets the process end on its own; forces it if something lingers. */
function finish(code: number): void {
  process.exitCode = code;
  setTimeout(() => process.exit(code), 2_000).unref();
}
