import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { extname, join, resolve } from "node:path";
import type { MediaRef, Message } from "@messenger/proto/chat/v1/types";
import type { MessengerClient } from "../client.js";
import { formatBytes, printable } from "./format.js";
import { ProgressBar, type ProgressOutput } from "./progress-bar.js";

export const mediaHelp = `  /image PATH     send an image (JPEG, PNG, WebP, GIF), with upload progress
  /file PATH      send any file
  /save N [DIR] [thumb]
                  save the image or file of message N into DIR (default: here; made if
                  missing) under its own name; with thumb, its thumbnail as NAME.thumb.webp`;

/** Commands about images and files of the conversation on screen. */
export const mediaCommands = new Set(["/image", "/file", "/save"]);

/**
 * The largest file the CLI reads into memory to send. Above the media service's default
 * limits, so the usual "too large" comes from the server with its own limit in it; this one
 * only keeps the CLI from reading gigabytes.
 */
const maxReadBytes = 512 * 1024 * 1024;

/** Tries of "name (n).ext" before /save gives up on a crowded directory. */
const maxNameTries = 1000;

/** What a media command needs from the session. */
export interface MediaCommandDeps {
  readonly client: MessengerClient;
  /** The directory relative paths start from. */
  readonly cwd: string;
  /** Where upload progress is drawn. */
  readonly progress: ProgressOutput;
  print(line: string): void;
  /** Resolves when sending is allowed (a message request on screen is accepted first); rejects with why not. */
  readyToSend(): Promise<void>;
  /** True while the conversation is the one on screen. */
  onScreen(conversationId: string): boolean;
}

/** Runs /image, /file or /save in the conversation on screen; refusals are printed, RPC failures reject. */
export async function runMediaCommand(command: string, rest: string, conversationId: string, deps: MediaCommandDeps): Promise<void> {
  if (command === "/save") return save(rest, conversationId, deps);
  if (rest === "") return deps.print(`! ${command} takes the path of a file, e.g. ${command} ${command === "/image" ? "~/photo.jpg" : "~/report.pdf"}`);
  const path = resolve(deps.cwd, expandHome(unquote(rest)));
  const file = await readLocalFile(path);
  if (typeof file === "string") return deps.print(`! ${command}: ${file}`);
  const fileName = path.split(/[\\/]/).pop() ?? "file";
  const bar = new ProgressBar(deps.progress, "uploading", fileName);
  let sent: Message;
  try {
    await deps.readyToSend();
    const outgoing = { bytes: file, fileName };
    const onProgress = ({ sentBytes, totalBytes }: { sentBytes: number; totalBytes: number }): void => bar.update(sentBytes, totalBytes);
    sent = command === "/image" ? await deps.client.sendImage(conversationId, outgoing, { onProgress }) : await deps.client.sendFile(conversationId, outgoing, { onProgress });
  } catch (err) {
    bar.clear();
    throw err;
  }
  // The message line itself comes as the client emits it, like any sent message.
  const media = sent.body.case === "media" ? sent.body.value : undefined;
  if (command === "/image" && media && !isImage(media)) deps.print(`-- ${printable(fileName)} is not an image the server could read: it was sent as a file`);
  if (!deps.onScreen(conversationId)) deps.print(`-- sent ${printable(fileName)} to the conversation you left`);
}

/** The file's bytes, or why they cannot be sent (one line). */
async function readLocalFile(path: string): Promise<Uint8Array | string> {
  const shown = printable(path);
  try {
    const s = await stat(path);
    if (s.isDirectory()) return `${shown} is a directory, not a file`;
    if (!s.isFile()) return `${shown} is not a regular file`;
    if (s.size === 0) return `${shown} is empty: there is nothing to send`;
    if (s.size > maxReadBytes) return `${shown} is too large (${formatBytes(BigInt(s.size))}; the CLI sends at most ${formatBytes(BigInt(maxReadBytes))})`;
    const bytes = await readFile(path);
    // It may have changed since stat.
    if (bytes.length === 0) return `${shown} is empty: there is nothing to send`;
    if (bytes.length > maxReadBytes) return `${shown} is too large (it grew while being read)`;
    return bytes;
  } catch (err) {
    return `cannot read ${shown}: ${fsReason(err)}`;
  }
}

/** `/save N [DIR] [thumb]`. */
async function save(rest: string, conversationId: string, deps: MediaCommandDeps): Promise<void> {
  const m = /^([1-9][0-9]{0,17})(?:\s+(.*?))?$/s.exec(rest);
  if (!m) return deps.print("! /save takes a message number and a directory, e.g. /save 3 ~/Downloads");
  const seq = BigInt(m[1]!);
  let dirArg = m[2] ?? "";
  const thumb = /(^|\s)thumb$/.test(dirArg);
  if (thumb) dirArg = dirArg.slice(0, -"thumb".length).trim();
  const dir = resolve(deps.cwd, expandHome(unquote(dirArg === "" ? "." : dirArg)));

  const page = await deps.client.listMessages(conversationId, { anchorSeq: seq - 1n, direction: "forward", pageSize: 1 });
  const message = page.messages[0];
  if (message?.seq !== seq) return deps.print(`! /save: there is no message ${seq} in this conversation`);
  if (message.body.case !== "media") return deps.print(`! /save: message ${seq} is not an image or a file`);
  const media = message.body.value;
  if (thumb && !isImage(media)) return deps.print(`! /save: message ${seq} is a file: only images have thumbnails`);

  const { bytes } = await deps.client.media.download(media.mediaId, thumb ? "thumbnail" : "original");
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    return deps.print(`! /save: cannot make the directory ${printable(dir)}: ${fsReason(err)}`);
  }
  const name = safeFileName(media.fileName, media.mediaId);
  const [stem, ext] = thumb ? [stemOf(name), ".thumb.webp"] : [stemOf(name), extname(name)];
  const saved = await writeUnique(dir, stem, ext, bytes);
  if (typeof saved !== "string") return deps.print(`! /save: cannot write into ${printable(dir)}: ${saved.reason}`);
  deps.print(`-- saved ${thumb ? "the thumbnail " : ""}${printable(saved)} (${formatBytes(BigInt(bytes.length))})`);
}

/** Writes without ever replacing a file: "name.ext", else "name (1).ext", "name (2).ext"…; resolves with the path written. */
async function writeUnique(dir: string, stem: string, ext: string, bytes: Uint8Array): Promise<string | { reason: string }> {
  for (let n = 0; n < maxNameTries; n++) {
    const path = join(dir, `${stem}${n === 0 ? "" : ` (${n})`}${ext}`);
    try {
      // "wx" fails when the name is taken, with no window between looking and writing.
      await writeFile(path, bytes, { flag: "wx" });
      return path;
    } catch (err) {
      if (errnoCode(err) !== "EEXIST") return { reason: fsReason(err) };
    }
  }
  return { reason: `${maxNameTries} files named ${stem}${ext} are there already` };
}

/**
 * A name that stays inside the directory: no path separators, control characters or leading
 * dots (no hidden files, no "..") and at most 200 characters, the extension kept.
 */
export function safeFileName(fileName: string, mediaId: string): string {
  let name = fileName
    .replace(/[\u0000-\u001f\u007f-\u009f/\\]/g, "_")
    .trim()
    .replace(/^[.\s]+/, "");
  if (name === "" || /^_*$/.test(name)) name = `media-${mediaId.replace(/[^A-Za-z0-9_-]/g, "_")}`;
  if (name.length > 200) {
    const ext = extname(name).slice(0, 20);
    name = `${name.slice(0, 200 - ext.length)}${ext}`;
  }
  return name;
}

function stemOf(name: string): string {
  const ext = extname(name);
  return ext === "" ? name : name.slice(0, -ext.length);
}

function isImage(media: MediaRef): boolean {
  return media.mimeType.startsWith("image/") && media.width > 0 && media.height > 0;
}

/** A path typed with surrounding quotes (as terminals paste dropped files) without them. */
function unquote(s: string): string {
  const m = /^(["'])(.*)\1$/s.exec(s.trim());
  return m ? m[2]! : s.trim();
}

function expandHome(p: string): string {
  return p === "~" ? homedir() : p.startsWith("~/") ? join(homedir(), p.slice(2)) : p;
}

function errnoCode(err: unknown): string | undefined {
  return err instanceof Error && "code" in err && typeof err.code === "string" ? err.code : undefined;
}

/** A file system error in words, without the stack or the syscall. */
function fsReason(err: unknown): string {
  switch (errnoCode(err)) {
    case "ENOENT":
      return "no such file or directory";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "ENOTDIR":
      return "a part of the path is not a directory";
    case "EISDIR":
      return "it is a directory";
    case "ENAMETOOLONG":
      return "the name is too long";
    case "ELOOP":
      return "too many symbolic links";
    case "ENOSPC":
      return "no space left on the device";
    case "EROFS":
      return "read-only file system";
    case "EEXIST":
      return "a file is in the way";
    default:
      return err instanceof Error ? err.message.replace(/\s+/g, " ") : String(err);
  }
}
