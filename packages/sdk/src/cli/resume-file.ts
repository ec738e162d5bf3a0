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
 * The JSON form. Bigints are decimal strings; the server URL is kept so that a state from
 * another server (whose conversations and versions mean nothing here) is not replayed.
 * `receiptsVersions` came later: a file without it still loads (with none).
 */
interface ResumeFileJson {
  readonly url: string;
  readonly syncVersion: string;
  readonly cursors: Record<string, string>;
  readonly receiptsVersions?: Record<string, string>;
}

export function serializeResumeState(url: string, state: ResumeState): string {
  const json: ResumeFileJson = {
    url,
    syncVersion: state.syncVersion.toString(),
    cursors: decimalRecord(state.cursors),
    receiptsVersions: decimalRecord(state.receiptsVersions ?? new Map()),
  };
  return `${JSON.stringify(json, null, 2)}\n`;
}

/**
 * Parses the file's text; throws on anything malformed. Returns the state (always with
 * `receiptsVersions`, empty for a file written before they existed) and the URL it belongs to.
 */
export function parseResumeState(text: string): { url: string; state: ResumeState } {
  const raw: unknown = JSON.parse(text);
  if (!isRecord(raw) || typeof raw.url !== "string" || !isRecord(raw.cursors)) throw new Error("not a resume state");
  if (raw.receiptsVersions !== undefined && !isRecord(raw.receiptsVersions)) throw new Error("receiptsVersions is not an object");
  const cursors = uint64Map(raw.cursors, "cursor");
  const receiptsVersions = uint64Map(raw.receiptsVersions ?? {}, "receipts version");
  return { url: raw.url, state: { syncVersion: toUint64(raw.syncVersion, "syncVersion"), cursors, receiptsVersions } };
}

function decimalRecord(m: ReadonlyMap<string, bigint>): Record<string, string> {
  return Object.fromEntries([...m].map(([conversationId, n]) => [conversationId, n.toString()]));
}

function uint64Map(record: Record<string, unknown>, what: string): Map<string, bigint> {
  const m = new Map<string, bigint>();
  for (const [conversationId, n] of Object.entries(record)) m.set(conversationId, toUint64(n, `${what} of ${conversationId}`));
  return m;
}

/** The resume state of one username+device on one server, read once and saved as it moves. */
export class ResumeFile {
  private writing: Promise<void> = Promise.resolve();
  private lastSaved: string | undefined;

  constructor(
    readonly path: string,
    private readonly url: string,
  ) {}

  /**
   * The saved state, or undefined when there is none. A state that cannot be used (unreadable,
   * or from another server) is reported through `warn` and ignored: the device starts afresh.
   */
  async load(warn: (message: string) => void): Promise<ResumeState | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, "utf8");
    } catch (err) {
      if (isErrnoException(err) && err.code === "ENOENT") return undefined;
      warn(`cannot read ${this.path} (${err instanceof Error ? err.message : String(err)}); starting without resume state`);
      return undefined;
    }
    try {
      const { url, state } = parseResumeState(text);
      if (url !== this.url) {
        warn(`resume state in ${this.path} belongs to ${url}; starting without it`);
        return undefined;
      }
      this.lastSaved = text;
      return state;
    } catch (err) {
      warn(`ignoring malformed ${this.path} (${err instanceof Error ? err.message : String(err)})`);
      return undefined;
    }
  }

  /** Writes the state atomically (temp file + rename); saves are serialized and unchanged states skipped. */
  save(state: ResumeState): Promise<void> {
    const text = serializeResumeState(this.url, state);
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
