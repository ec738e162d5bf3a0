import type { Readable } from "node:stream";

/** A request a client makes straight to the blob store: nothing passes through a service. */
export interface SignedRequest {
  readonly url: string;
  readonly method: "PUT" | "GET";
  /** Headers the request must carry (the upload's Content-Type, for example). */
  readonly headers: Readonly<Record<string, string>>;
  /** When the URL stops working (ms since the epoch). */
  readonly expiresAt: number;
}

/** What a PUT URL allows. */
export interface PutGrant {
  /** The exact size the client declared. Adapters that can enforce it do; the media service checks it in any case. */
  readonly size: number;
  readonly contentType: string;
  readonly expiresInSeconds: number;
}

/** What a GET URL serves. */
export interface GetGrant {
  readonly expiresInSeconds: number;
  /** The Content-Type the download carries. */
  readonly contentType: string;
  /** When set, served as an attachment with this file name (never rendered inline). */
  readonly attachmentName?: string;
}

/** An object's size, if it exists. */
export interface BlobInfo {
  readonly size: number;
}

/**
 * The blob port: objects by key in one bucket (or folder). Services read and write through it
 * (the media service's uploads, the store's archive segments); clients use the signed URLs it makes.
 */
export interface BlobStore {
  /** A URL a client PUTs the object's bytes to, until it expires. */
  signPut(key: string, grant: PutGrant): Promise<SignedRequest>;
  /** A URL a client GETs the object from, until it expires. */
  signGet(key: string, grant: GetGrant): Promise<SignedRequest>;
  /** The object's size, or undefined when there is none. */
  stat(key: string): Promise<BlobInfo | undefined>;
  /** The object's bytes as a stream (rejects when there is none). */
  read(key: string): Promise<Readable>;
  /** Stores an object (replacing one with that key). */
  write(key: string, body: Uint8Array | Readable, size: number, contentType: string): Promise<void>;
  /** Deletes objects; keys without an object are ignored. */
  remove(keys: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * The Content-Disposition of a download served as a file named `name` (RFC 6266 with an
 * RFC 5987 ext-value: encodeURIComponent leaves ' ( ) * unescaped, which attr-char forbids).
 */
export function attachmentDisposition(name: string): string {
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename*=UTF-8''${encoded}`;
}
