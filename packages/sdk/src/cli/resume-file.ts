import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import type { ResumeState } from "../client.js";

/** The directory for CLI state: $MESSENGER_HOME, or ~/.messenger. */
export function messengerHome(env: NodeJS.ProcessEnv): string {
  const home = env.MESSENGER_HOME;
  return home !== undefined && home !== "" ? home : join(homedir(), ".messenger");
}

/** One file per username and device; both are percent-encoded so any value is a safe file name. */
export function resumeFilePath(home: string, username: string, deviceId: string): string {
  return join(home, `${encodeURIComponent(username)}@${encodeURIComponent(deviceId)}.resume.json`);
}

/**
 * Whose state a file holds. `userId` is the account's id on the deployment the state came
 * from: the deployment's accounts service mints it (a random UUID at registration), so every
 * gateway of one deployment logs the user into the same id, and the same username on another
 * deployment gets another one. A file written before the id was kept holds the server URL
 * it came from instead.
 */
export type ResumeOwner = { readonly userId: string } | { readonly url: string };

/** A state read from a file, with whose it is. */
export interface SavedResume {
  readonly owner: ResumeOwner;
  readonly state: ResumeState;
}

/**
 * The JSON form. Bigints are decimal strings. `receiptsVersions` came later (a file without
 * it loads with none), and `userId` replaced `url`.
 */
interface ResumeFileJson {
  readonly userId?: string;
  readonly url?: string;
  readonly syncVersion: string;
  readonly cursors: Record<string, string>;
  readonly receiptsVersions?: Record<string, string>;
}

export function serializeResumeState(userId: string, state: ResumeState): string {
  const json: ResumeFileJson = {
    userId,
    syncVersion: state.syncVersion.toString(),
    cursors: decimalRecord(state.cursors),
    receiptsVersions: decimalRecord(state.receiptsVersions ?? new Map()),
  };
  return `${JSON.stringify(json, null, 2)}\n`;
}

/**
 * Parses the file's text; throws on anything malformed. Returns the state (always with
 * `receiptsVersions`, empty for a file written before they existed) and whose it is.
 */
export function parseResumeState(text: string): SavedResume {
  const raw: unknown = JSON.parse(text);
  if (!isRecord(raw) || !isRecord(raw.cursors)) throw new Error("not a resume state");
  let owner: ResumeOwner;
  if (typeof raw.userId === "string" && raw.userId !== "") owner = { userId: raw.userId };
  else if (typeof raw.url === "string") owner = { url: raw.url };
  else throw new Error("names neither the account (userId) nor the server (url) it belongs to");
  if (raw.receiptsVersions !== undefined && !isRecord(raw.receiptsVersions)) throw new Error("receiptsVersions is not an object");
  const cursors = uint64Map(raw.cursors, "cursor");
  const receiptsVersions = uint64Map(raw.receiptsVersions ?? {}, "receipts version");
  return { owner, state: { syncVersion: toUint64(raw.syncVersion, "syncVersion"), cursors, receiptsVersions } };
}

/**
 * Whether a saved state may be resumed by this account (its id as the deployment answered
 * the login) reached through these URLs: the same id, or, for a file from before ids were
 * kept, one of the URLs it was saved for (the next save rewrites it with the id).
 */
export function belongsTo(owner: ResumeOwner, userId: string, urls: readonly string[]): boolean {
  return "userId" in owner ? owner.userId === userId : urls.includes(owner.url);
}

/** Why a saved state is not resumed, for the warning. */
export function describeOwner(owner: ResumeOwner): string {
  return "userId" in owner ? `account ${owner.userId}, another deployment or a re-created account` : `the server at ${owner.url}`;
}

function decimalRecord(m: ReadonlyMap<string, bigint>): Record<string, string> {
  return Object.fromEntries([...m].map(([conversationId, n]) => [conversationId, n.toString()]));
}

function uint64Map(record: Record<string, unknown>, what: string): Map<string, bigint> {
  const m = new Map<string, bigint>();
  for (const [conversationId, n] of Object.entries(record)) m.set(conversationId, toUint64(n, `${what} of ${conversationId}`));
  return m;
}

/** The resume state of one username+device, read once and saved as it moves. */
export class ResumeFile {
  private writing: Promise<void> = Promise.resolve();
  private lastSaved: string | undefined;

  constructor(readonly path: string) {}

  /**
   * The saved state and whose it is, or undefined when there is none. A file that cannot be
   * read or parsed is reported through `warn` and ignored: the device starts afresh.
   */
  async load(warn: (message: string) => void): Promise<SavedResume | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, "utf8");
    } catch (err) {
      if (isErrnoException(err) && err.code === "ENOENT") return undefined;
      warn(`cannot read ${this.path} (${err instanceof Error ? err.message : String(err)}); starting without resume state`);
      return undefined;
    }
    try {
      const saved = parseResumeState(text);
      this.lastSaved = text;
      return saved;
    } catch (err) {
      warn(`ignoring malformed ${this.path} (${err instanceof Error ? err.message : String(err)})`);
      return undefined;
    }
  }

  /** Writes the state atomically (temp file + rename); saves are serialized and unchanged states skipped. */
  save(userId: string, state: ResumeState): Promise<void> {
    const text = serializeResumeState(userId, state);
    const next = this.writing.then(async () => {
      if (text === this.lastSaved) return;
      await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
      const tmp = `${this.path}.${process.pid}.tmp`;
      await writeFile(tmp, text, { mode: 0o600 });
      await rename(tmp, this.path);
      this.lastSaved = text;
    });
    // A failed save must not wedge later ones; the caller still sees this one's error.
    this.writing = next.catch(() => undefined);
    return next;
  }
}

function toUint64(v: unknown, what: string): bigint {
  if (typeof v !== "string" || !/^(0|[1-9][0-9]{0,19})$/.test(v)) throw new Error(`${what} is not an unsigned decimal string`);
  const n = BigInt(v);
  if (n >= 2n ** 64n) throw new Error(`${what} is out of range`);
  return n;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isErrnoException(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && "code" in err;
}
