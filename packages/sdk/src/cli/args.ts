import { hostname } from "node:os";
import { parseArgs } from "node:util";

/** The gateway address used when neither --url nor MESSENGER_URL is given. */
export const defaultUrl = "http://127.0.0.1:50051";

export interface RegisterCommand {
  readonly kind: "register";
  readonly username: string;
  readonly url: string;
}

export interface ChatCommand {
  readonly kind: "chat";
  readonly username: string;
  readonly peer: string;
  readonly url: string;
  readonly deviceId: string;
}

export interface HelpCommand {
  readonly kind: "help";
}

/** What the command line asks for. */
export type Command = RegisterCommand | ChatCommand | HelpCommand;

/** A malformed command line: print the usage and exit 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

export const usage = `usage: npm run chat -- <command> [options]

commands:
  register <username>                 create an account
  chat <username> <peer-username>     log in and chat with a peer

options:
  --url <url>       gateway address (env MESSENGER_URL, default ${defaultUrl})
  --device <id>     this device's id, chat only (default cli-<hostname>)
  -h, --help        show this help

environment:
  MESSENGER_PASSWORD   the password; prompted for (hidden) when unset and stdin is a terminal
  MESSENGER_HOME       where resume state is kept (default ~/.messenger)

inside chat: type a line to send it; /quit leaves; //text sends "/text".`;

/** A device id the server accepts (1 to 64 of A-Z a-z 0-9 _ . -) derived from the host name. */
export function defaultDeviceId(host: string = hostname()): string {
  return `cli-${host.replace(/[^A-Za-z0-9_.-]/g, "-")}`.slice(0, 64);
}

/** Parses the arguments after the script name; throws UsageError on a malformed line. */
export function parseCommand(argv: readonly string[], env: NodeJS.ProcessEnv, host?: string): Command {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        url: { type: "string" },
        device: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: "help" };
  const url = parseUrl(values.url ?? nonEmpty(env.MESSENGER_URL) ?? defaultUrl);
  const [command, ...rest] = positionals;
  switch (command) {
    case "register": {
      if (values.device !== undefined) throw new UsageError("--device applies to chat only");
      const [username] = positionalArgs(rest, ["username"], "register");
      if (username === undefined) throw new UsageError("register takes <username>");
      return { kind: "register", username, url };
    }
    case "chat": {
      const [username, peer] = positionalArgs(rest, ["username", "peer-username"], "chat");
      if (username === undefined || peer === undefined) throw new UsageError("chat takes <username> <peer-username>");
      if (username === peer) throw new UsageError("you cannot chat with yourself");
      const deviceId = values.device ?? defaultDeviceId(host);
      if (deviceId === "") throw new UsageError("--device must not be empty");
      return { kind: "chat", username, peer, url, deviceId };
    }
    case undefined:
      throw new UsageError("missing command");
    default:
      throw new UsageError(`unknown command: ${command}`);
  }
}

/** Checks the count and that none is empty; the caller destructures the result. */
function positionalArgs(args: readonly string[], names: readonly string[], command: string): readonly string[] {
  if (args.length !== names.length) {
    throw new UsageError(`${command} takes ${names.map((n) => `<${n}>`).join(" ")}, got ${args.length} argument${args.length === 1 ? "" : "s"}`);
  }
  for (const [i, a] of args.entries()) if (a === "") throw new UsageError(`<${names[i] ?? "argument"}> must not be empty`);
  return args;
}

function parseUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`not a URL: ${raw}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new UsageError(`the gateway URL must be http or https: ${raw}`);
  return raw.replace(/\/+$/, "");
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s === "" ? undefined : s;
}
