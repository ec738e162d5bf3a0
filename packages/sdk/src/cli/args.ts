import { hostname } from "node:os";
import { parseArgs } from "node:util";
import { maxMessageChars } from "./line-limit.js";

/** The gateway address used when neither --url nor MESSENGER_URL is given. */
export const defaultUrl = "http://127.0.0.1:50051";

/** Gateway addresses of one deployment, in the order to try them; at least one, each once. */
export type Urls = readonly [string, ...string[]];

export interface RegisterCommand {
  readonly kind: "register";
  readonly username: string;
  readonly urls: Urls;
}

export interface ChatCommand {
  readonly kind: "chat";
  readonly username: string;
  readonly peer: string;
  readonly urls: Urls;
  readonly deviceId: string;
}

/** `chat <username> --group <group>` or `open <username> <group>`: enter one of my groups. */
export interface OpenGroupCommand {
  readonly kind: "open";
  readonly username: string;
  /** A conversation id, or the title of one of the user's groups. */
  readonly group: string;
  readonly urls: Urls;
  readonly deviceId: string;
}

/** `group <username> <title> [member…]`: create a group and enter it. */
export interface CreateGroupCommand {
  readonly kind: "group";
  readonly username: string;
  readonly title: string;
  /** Usernames of the first members besides the creator, each once. */
  readonly members: readonly string[];
  readonly urls: Urls;
  readonly deviceId: string;
}

export interface HelpCommand {
  readonly kind: "help";
}

/** A command that logs in and enters a conversation. */
export type SessionCommand = ChatCommand | OpenGroupCommand | CreateGroupCommand;

/** What the command line asks for. */
export type Command = RegisterCommand | SessionCommand | HelpCommand;

/** A malformed command line: print the usage and exit 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

export const usage = `usage: npm run chat -- <command> [options]

commands:
  register <username>                      create an account
  chat <username> <peer-username>          log in and chat with a peer
  chat <username> --group <group>          log in and enter one of your groups, named by
                                           its conversation id or its title
  open <username> <group>                  the same as chat --group
  group <username> <title> [member…]       create a group with these members (usernames)
                                           and enter it

options:
  --url <url>       gateway address; several gateways of one deployment as a comma-separated
                    list or by repeating --url: the client moves to the next when one fails
                    (env MESSENGER_URL, default ${defaultUrl})
  --device <id>     this device's id, not for register (default cli-<hostname>)
  --group <group>   with chat: the group to enter instead of a peer
  -h, --help        show this help

environment:
  MESSENGER_PASSWORD   the password; prompted for (hidden) when unset and stdin is a terminal
  MESSENGER_HOME       where resume state is kept (default ~/.messenger)
  NO_COLOR             set to show receipts without colour

inside a conversation: type a line to send it (at most ${maxMessageChars} characters); /quit
leaves; /help lists the commands; //text sends "/text". /inbox lists your conversations,
/open NAME|N switches to a user, a group title or an /inbox entry. In a group: /invite NAME…,
/kick NAME, /leave, /members, /admin NAME, /owner NAME, /title TEXT, /readby SEQ.
/image PATH and /file PATH send an image or a file, with upload progress; /save N [DIR]
saves the image or file of message N into DIR (default: the current directory).
/retention shows how long the server keeps the conversation's messages; /retention 1h makes
them disappear an hour after they are sent (5m to 90d), /retention off keeps them.
My messages show ✓ once the server stored them; ✓✓ delivered up to N, ✔✔ read up to N.`;

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
        url: { type: "string", multiple: true },
        device: { type: "string" },
        group: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: "help" };
  const urls = parseUrls(values.url ?? [nonEmpty(env.MESSENGER_URL) ?? defaultUrl]);
  const [command, ...rest] = positionals;
  switch (command) {
    case "register": {
      if (values.device !== undefined) throw new UsageError("--device does not apply to register");
      if (values.group !== undefined) throw new UsageError("--group applies to chat only");
      const [username] = positionalArgs(rest, ["username"], "register");
      if (username === undefined) throw new UsageError("register takes <username>");
      return { kind: "register", username, urls };
    }
    case "chat": {
      const deviceId = deviceOf(values.device, host);
      if (values.group !== undefined) {
        const [username] = positionalArgs(rest, ["username"], "chat --group");
        if (username === undefined) throw new UsageError("chat --group takes <username>");
        return { kind: "open", username, group: groupName(values.group), urls, deviceId };
      }
      const [username, peer] = positionalArgs(rest, ["username", "peer-username"], "chat");
      if (username === undefined || peer === undefined) throw new UsageError("chat takes <username> <peer-username>");
      if (username === peer) throw new UsageError("you cannot chat with yourself");
      return { kind: "chat", username, peer, urls, deviceId };
    }
    case "open": {
      if (values.group !== undefined) throw new UsageError("open takes the group as an argument, not --group");
      const deviceId = deviceOf(values.device, host);
      const [username, group] = positionalArgs(rest, ["username", "group"], "open");
      if (username === undefined || group === undefined) throw new UsageError("open takes <username> <group>");
      return { kind: "open", username, group: groupName(group), urls, deviceId };
    }
    case "group": {
      if (values.group !== undefined) throw new UsageError("--group applies to chat only");
      const deviceId = deviceOf(values.device, host);
      const [username, title, ...named] = rest;
      if (username === undefined || title === undefined) throw new UsageError("group takes <username> <title> [member-username…]");
      for (const [i, a] of rest.entries()) if (a === "") throw new UsageError(`<${i === 0 ? "username" : i === 1 ? "title" : "member-username"}> must not be empty`);
      if (title.trim() === "") throw new UsageError("<title> must not be blank");
      if (named.includes(username)) throw new UsageError("you are in every group you create: do not list yourself");
      return { kind: "group", username, title, members: [...new Set(named)], urls, deviceId };
    }
    case undefined:
      throw new UsageError("missing command");
    default:
      throw new UsageError(`unknown command: ${command}`);
  }
}

function deviceOf(device: string | undefined, host: string | undefined): string {
  const deviceId = device ?? defaultDeviceId(host);
  if (deviceId === "") throw new UsageError("--device must not be empty");
  return deviceId;
}

function groupName(group: string): string {
  if (group.trim() === "") throw new UsageError("<group> must not be empty");
  return group;
}

/** Checks the count and that none is empty; the caller destructures the result. */
function positionalArgs(args: readonly string[], names: readonly string[], command: string): readonly string[] {
  if (args.length !== names.length) {
    throw new UsageError(`${command} takes ${names.map((n) => `<${n}>`).join(" ")}, got ${args.length} argument${args.length === 1 ? "" : "s"}`);
  }
  for (const [i, a] of args.entries()) if (a === "") throw new UsageError(`<${names[i] ?? "argument"}> must not be empty`);
  return args;
}

/** Every --url (or the one list from the environment), each a URL or a comma-separated list of them. */
function parseUrls(values: readonly string[]): Urls {
  const urls = [...new Set(values.flatMap((v) => v.split(",")).map((u) => u.trim()).filter((u) => u !== "").map(parseUrl))];
  const [first, ...rest] = urls;
  if (first === undefined) throw new UsageError("--url must name at least one gateway");
  return [first, ...rest];
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
