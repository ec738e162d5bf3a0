import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, open, rename, rm, stat, unlink, type FileHandle } from "node:fs/promises";
import type * as http from "node:http";
import type * as http2 from "node:http2";
import { basename, dirname, join } from "node:path";
import { Readable, Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { attachmentDisposition, type BlobInfo, type BlobStore, type GetGrant, type PutGrant, type SignedRequest } from "./blob-store.js";

/** The embedded blob store: also an HTTP endpoint, since clients PUT and GET its signed URLs. */
export interface LocalBlobStore extends BlobStore {
  /** Every request whose path starts with this goes to handle(). */
  readonly httpPrefix: string;
  /** Serves signed PUT/GET/HEAD requests. Never throws: a bad request gets a status. */
  handle(
    req: http.IncomingMessage | http2.Http2ServerRequest,
    res: http.ServerResponse | http2.Http2ServerResponse,
  ): void;
}

export interface LocalBlobStoreOptions {
  /** The folder objects live in; created when missing. */
  readonly dir: string;
  /** The HMAC key for signed URLs; anyone holding it can mint URLs. */
  readonly secret: Uint8Array;
  /** Where clients reach this service's HTTP port, e.g. "https://media.example.com". */
  readonly publicBaseUrl: () => string;
  /** Milliseconds since the epoch; injectable so tests can expire URLs without waiting. */
  readonly now?: () => number;
}

/** Thrown for a key that is not a safe relative path of [A-Za-z0-9_.-] segments. */
export class InvalidBlobKeyError extends Error {
  constructor(readonly key: string) {
    super(`invalid blob key ${JSON.stringify(key)}`);
    this.name = "InvalidBlobKeyError";
  }
}

const HTTP_PREFIX = "/media/blobs/";
const SEGMENT = /^[A-Za-z0-9_.-]+$/;
const MAX_KEY_LENGTH = 1024;

/**
 * Keys become file paths, so only plain segments pass: no "..", no empty segments (which also
 * rules out a leading "/"), and no leading "." so keys can never collide with our temp files.
 */
function isValidBlobKey(key: string): boolean {
  if (key.length === 0 || key.length > MAX_KEY_LENGTH || key.includes("..")) return false;
  return key.split("/").every((segment) => SEGMENT.test(segment) && !segment.startsWith("."));
}

/** Header values we put in responses must not carry control characters (header injection). */
function isHeaderSafe(value: string): boolean {
  return !/[\u0000-\u001f\u007f]/.test(value);
}


/** What a URL grants, exactly as signed. */
type Grant =
  | { readonly method: "PUT"; readonly key: string; readonly expires: number; readonly size: number; readonly contentType: string }
  | { readonly method: "GET"; readonly key: string; readonly expires: number; readonly contentType: string; readonly attachmentName: string | undefined };

/** Opens the folder-backed store; it signs URLs that its own handle() verifies. */
export function openLocalBlobStore(opts: LocalBlobStoreOptions): LocalBlobStore {
  const now = opts.now ?? Date.now;
  const secret = Buffer.from(opts.secret);
  if (secret.length < 16) throw new Error("local blob store secret must be at least 16 bytes");

  const pathOf = (key: string): string => {
    if (!isValidBlobKey(key)) throw new InvalidBlobKeyError(key);
    return join(opts.dir, ...key.split("/"));
  };

  // JSON of a fixed-order array is unambiguous, unlike joining fields with a separator.
  const mac = (grant: Grant): Buffer => {
    const fields =
      grant.method === "PUT"
        ? ["PUT", grant.key, grant.expires, grant.size, grant.contentType]
        : ["GET", grant.key, grant.expires, grant.contentType, grant.attachmentName ?? null];
    return createHmac("sha256", secret).update(JSON.stringify(fields)).digest();
  };

  const expiryOf = (expiresInSeconds: number): number => {
    if (!Number.isInteger(expiresInSeconds) || expiresInSeconds < 1) {
      throw new RangeError(`expiresInSeconds must be a positive integer, got ${expiresInSeconds}`);
    }
    return Math.floor(now() / 1000) + expiresInSeconds;
  };

  const urlFor = (grant: Grant, params: Record<string, string>): SignedRequest => {
    const query = new URLSearchParams({ ...params, exp: String(grant.expires), sig: mac(grant).toString("base64url") });
    const base = opts.publicBaseUrl().replace(/\/+$/, "");
    return {
      url: `${base}${HTTP_PREFIX}${encodeURIComponent(grant.key)}?${query.toString()}`,
      method: grant.method,
      headers: grant.method === "PUT" ? { "content-type": grant.contentType } : {},
      expiresAt: grant.expires * 1000,
    };
  };

  const checkContentType = (contentType: string): void => {
    if (contentType.length === 0 || !isHeaderSafe(contentType)) throw new TypeError("invalid content type");
  };

  return {
    httpPrefix: HTTP_PREFIX,

    // async so that a bad key or grant rejects rather than throwing at the call.
    async signPut(key: string, grant: PutGrant): Promise<SignedRequest> {
      pathOf(key);
      checkContentType(grant.contentType);
      if (!Number.isSafeInteger(grant.size) || grant.size < 0) throw new RangeError(`invalid size ${grant.size}`);
      const signed: Grant = { method: "PUT", key, expires: expiryOf(grant.expiresInSeconds), size: grant.size, contentType: grant.contentType };
      return urlFor(signed, { size: String(grant.size), ct: grant.contentType });
    },

    async signGet(key: string, grant: GetGrant): Promise<SignedRequest> {
      pathOf(key);
      checkContentType(grant.contentType);
      const signed: Grant = {
        method: "GET",
        key,
        expires: expiryOf(grant.expiresInSeconds),
        contentType: grant.contentType,
        attachmentName: grant.attachmentName,
      };
      const params: Record<string, string> = { ct: grant.contentType };
      if (grant.attachmentName !== undefined) params["name"] = grant.attachmentName;
      return urlFor(signed, params);
    },

    async stat(key: string): Promise<BlobInfo | undefined> {
      const path = pathOf(key);
      try {
        const info = await stat(path);
        return info.isFile() ? { size: info.size } : undefined;
      } catch (err) {
        if (isMissing(err)) return undefined;
        throw err;
      }
    },

    async read(key: string): Promise<Readable> {
      const file = await openObject(pathOf(key));
      if (file === undefined) throw new Error(`no blob ${JSON.stringify(key)}`);
      return file.handle.createReadStream();
    },

    async write(key: string, body: Uint8Array | Readable, size: number, _contentType: string): Promise<void> {
      const source = body instanceof Readable ? body : Readable.from([body]);
      await writeAtomically(pathOf(key), source, size);
    },

    async remove(keys: readonly string[]): Promise<void> {
      const paths = keys.map(pathOf);
      await Promise.all(paths.map(removeObject));
    },

    close(): Promise<void> {
      return Promise.resolve();
    },

    handle(req, res): void {
      const reply = res as Reply;
      serve(req, reply).catch(() => {
        // An I/O failure on our side or a vanished client; neither may crash the process.
        try {
          if (!reply.headersSent) respond(reply, 500);
          else reply.destroy();
        } catch {
          reply.destroy();
        }
      });
    },
  };

  async function serve(req: http.IncomingMessage | http2.Http2ServerRequest, res: Reply): Promise<void> {
    const method = req.method ?? "";
    if (method !== "PUT" && method !== "GET" && method !== "HEAD") {
      respond(res, 405, { allow: "GET, HEAD, PUT" });
      return;
    }
    const url = new URL(req.url ?? "/", "http://localhost");
    if (!url.pathname.startsWith(HTTP_PREFIX)) {
      respond(res, 404);
      return;
    }
    let key: string;
    try {
      key = decodeURIComponent(url.pathname.slice(HTTP_PREFIX.length));
    } catch {
      respond(res, 400);
      return;
    }
    if (!isValidBlobKey(key)) {
      respond(res, 400);
      return;
    }
    const q = url.searchParams;
    const expires = Number(q.get("exp"));
    const contentType = q.get("ct") ?? "";
    let grant: Grant;
    if (method === "PUT") {
      const sizeParam = q.get("size") ?? "";
      grant = { method: "PUT", key, expires, size: /^\d+$/.test(sizeParam) ? Number(sizeParam) : -1, contentType };
    } else {
      grant = { method: "GET", key, expires, contentType, attachmentName: q.get("name") ?? undefined };
    }
    if (!Number.isSafeInteger(expires) || !signatureMatches(q.get("sig"), mac(grant))) {
      respond(res, 403);
      return;
    }
    const remaining = expires - Math.floor(now() / 1000);
    if (remaining <= 0) {
      respond(res, 403);
      return;
    }
    if (grant.method === "PUT") await acceptUpload(req, res, pathOf(key), grant.size, grant.contentType);
    else await serveObject(method === "HEAD", res, pathOf(key), grant.contentType, grant.attachmentName, remaining);
  }
}

async function acceptUpload(
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: Reply,
  path: string,
  size: number,
  contentType: string,
): Promise<void> {
  const declared = req.headers["content-length"];
  if (declared === undefined) {
    respond(res, 411);
    return;
  }
  if (!/^\d+$/.test(declared)) {
    respond(res, 400);
    return;
  }
  if (Number(declared) !== size) {
    respond(res, Number(declared) > size ? 413 : 400);
    return;
  }
  if (req.headers["content-type"] !== contentType) {
    respond(res, 403);
    return;
  }
  try {
    await writeAtomically(path, req, size);
  } catch {
    // Too many or too few bytes, or the client went away: nothing was stored.
    if (!res.headersSent && !res.destroyed) respond(res, 400);
    return;
  }
  respond(res, 200);
}

async function serveObject(
  headOnly: boolean,
  res: Reply,
  path: string,
  contentType: string,
  attachmentName: string | undefined,
  remainingSeconds: number,
): Promise<void> {
  const file = await openObject(path);
  if (file === undefined) {
    respond(res, 404);
    return;
  }
  const headers: Record<string, string> = {
    "content-type": contentType,
    "content-length": String(file.size),
    "x-content-type-options": "nosniff",
    "cache-control": `private, max-age=${remainingSeconds}`,
  };
  if (attachmentName !== undefined) headers["content-disposition"] = attachmentDisposition(attachmentName);
  if (headOnly) {
    await file.handle.close();
    res.writeHead(200, headers);
    res.end();
    return;
  }
  res.writeHead(200, headers);
  await pipeline(file.handle.createReadStream(), res);
}

/** Deletes a file; a key without an object, including one naming a folder of nested keys, is a no-op. */
async function removeObject(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if (isMissing(err)) return;
    if ((err as NodeJS.ErrnoException).code === "EPERM" && (await stat(path)).isDirectory()) return;
    throw err;
  }
}

/** An open regular file, or undefined when the key has no object (missing, or a folder). */
async function openObject(path: string): Promise<{ handle: FileHandle; size: number } | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(path, "r");
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
  // Size from the open handle, so a concurrent replace cannot make Content-Length lie.
  const info = await handle.stat().catch(async (err: unknown) => {
    await handle.close();
    throw err;
  });
  if (!info.isFile()) {
    await handle.close();
    return undefined;
  }
  return { handle, size: info.size };
}

/**
 * Streams exactly `size` bytes into a temp file beside the target, then renames it over the
 * target: readers see the old object or the whole new one, never a partial upload.
 */
async function writeAtomically(path: string, source: Readable | http2.Http2ServerRequest, size: number): Promise<void> {
  const folder = dirname(path);
  await mkdir(folder, { recursive: true });
  const temp = join(folder, `.${basename(path)}.${randomBytes(8).toString("hex")}.tmp`);
  try {
    await pipeline(source, new ExactSize(size), createWriteStream(temp, { flags: "wx" }));
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

/** Passes bytes through and fails as soon as more than `size` arrive, or at the end if fewer did. */
class ExactSize extends Transform {
  private seen = 0;
  constructor(private readonly size: number) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.size) done(new Error(`body exceeds the ${this.size} bytes granted`));
    else done(null, chunk);
  }
  override _flush(done: TransformCallback): void {
    done(this.seen === this.size ? null : new Error(`body has ${this.seen} bytes, ${this.size} granted`));
  }
}

function signatureMatches(given: string | null, expected: Buffer): boolean {
  if (given === null) return false;
  const actual = Buffer.from(given, "base64url");
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR";
}

/** What both http.ServerResponse and http2.Http2ServerResponse offer that we use. */
type Reply = NodeJS.WritableStream & {
  readonly headersSent: boolean;
  readonly destroyed: boolean;
  writeHead(status: number, headers?: http.OutgoingHttpHeaders): unknown;
  destroy(error?: Error): unknown;
};

function respond(res: Reply, status: number, headers: http.OutgoingHttpHeaders = {}): void {
  res.writeHead(status, { ...headers, "content-length": "0" });
  res.end();
}
