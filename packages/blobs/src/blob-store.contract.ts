import { createHash, randomBytes, randomUUID } from "node:crypto";
import type { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BlobStore, SignedRequest } from "./blob-store.js";

/** One adapter under test, with whatever servers and folders open() started for it. */
export interface ContractSubject {
  readonly store: BlobStore;
  /**
   * Moves the clock the adapter signs with (and, where the adapter verifies, verifies with) to
   * real time + ms. Signing in the past yields URLs that are already expired for any server.
   */
  shiftClock(ms: number): void;
  /** Closes the store and releases what open() started (servers, temp folders). */
  dispose(): Promise<void>;
}

export interface ContractOptions {
  /** False for stores that accept any signature (s3rver): tamper checks are then skipped, visibly. */
  readonly verifiesSignatures: boolean;
  /** Why signatures go unchecked; shown in the skipped tests' names. */
  readonly unverifiedBecause?: string;
}

/** The behaviour every BlobStore adapter owes its callers, checked through the API and real HTTP. */
export function blobStoreContract(
  name: string,
  open: () => Promise<ContractSubject>,
  opts: ContractOptions = { verifiesSignatures: true },
): void {
  describe(`BlobStore contract: ${name}`, () => {
    let subject: ContractSubject | undefined;
    // A fresh prefix per run, so the suite can share a bucket with other runs and clean up after itself.
    const prefix = `contract-${randomUUID()}`;
    const used = new Set<string>();
    const keyFor = (suffix: string): string => {
      const key = `${prefix}/${suffix}`;
      used.add(key);
      return key;
    };
    const store = (): BlobStore => {
      if (subject === undefined) throw new Error("contract subject did not open");
      return subject.store;
    };
    const signed = (title: string): string =>
      opts.verifiesSignatures ? title : `${title} (skipped: ${opts.unverifiedBecause ?? "the store does not verify signatures"})`;

    beforeAll(async () => {
      subject = await open();
    });
    afterAll(async () => {
      if (subject === undefined) return;
      try {
        await subject.store.remove([...used]);
      } finally {
        await subject.dispose();
      }
    });

    it("stores the bytes PUT to a signed URL, as stat and read then report", async () => {
      const key = keyFor("put-then-read");
      const bytes = randomBytes(1000);
      const before = Date.now();
      const put = await store().signPut(key, { size: bytes.length, contentType: "image/png", expiresInSeconds: 60 });
      expect(put.method).toBe("PUT");
      expect(put.headers["content-type"]).toBe("image/png");
      expect(put.expiresAt).toBeGreaterThan(before + 58_000);
      expect(put.expiresAt).toBeLessThanOrEqual(Date.now() + 60_000);

      const res = await send(put, bytes);
      expect(res.status).toBe(200);
      expect(await store().stat(key)).toEqual({ size: bytes.length });
      expect(await readAll(store().read(key))).toEqual(bytes);
    });

    it("serves a signed GET with the signed Content-Type and no attachment header", async () => {
      const key = keyFor("get-inline");
      const bytes = randomBytes(300);
      await store().write(key, bytes, bytes.length, "application/octet-stream");
      const get = await store().signGet(key, { contentType: "image/webp", expiresInSeconds: 60 });
      expect(get.method).toBe("GET");

      const res = await fetch(get.url, { headers: get.headers });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("image/webp");
      expect(res.headers.get("content-disposition")).toBeNull();
      expect(Buffer.from(await res.arrayBuffer())).toEqual(bytes);
    });

    it("serves a signed GET as an attachment with the signed file name", async () => {
      const key = keyFor("get-attachment");
      const bytes = randomBytes(100);
      await store().write(key, bytes, bytes.length, "application/pdf");
      const get = await store().signGet(key, {
        contentType: "application/pdf",
        expiresInSeconds: 60,
        attachmentName: "résumé (final).pdf",
      });

      const res = await fetch(get.url, { headers: get.headers });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("application/pdf");
      expect(res.headers.get("content-disposition")).toBe("attachment; filename*=UTF-8''r%C3%A9sum%C3%A9%20%28final%29.pdf");
      expect(Buffer.from(await res.arrayBuffer())).toEqual(bytes);
    });

    it("answers 404 to a signed GET of a key without an object", async () => {
      const get = await store().signGet(keyFor("never-written"), { contentType: "image/png", expiresInSeconds: 60 });
      const res = await fetch(get.url);
      expect(res.status).toBe(404);
    });

    it("refuses GET and PUT URLs whose expiry has passed, and stores nothing", async () => {
      const existing = keyFor("expired-get");
      await store().write(existing, Buffer.from("old"), 3, "text/plain");
      const fresh = keyFor("expired-put");
      const body = Buffer.from("new bytes");
      let get: SignedRequest;
      let put: SignedRequest;
      try {
        subject?.shiftClock(-3_600_000);
        get = await store().signGet(existing, { contentType: "text/plain", expiresInSeconds: 1 });
        put = await store().signPut(fresh, { size: body.length, contentType: "text/plain", expiresInSeconds: 1 });
      } finally {
        subject?.shiftClock(0);
      }
      expect(get.expiresAt).toBeLessThan(Date.now());

      expect((await fetch(get.url)).status).toBe(403);
      expect((await send(put, body)).status).toBe(403);
      expect(await store().stat(fresh)).toBeUndefined();
    });

    it.skipIf(!opts.verifiesSignatures)(signed("refuses a signed GET URL whose key was changed"), async () => {
      const signedKey = keyFor("tamper-a");
      const otherKey = keyFor("tamper-b");
      await store().write(signedKey, Buffer.from("a"), 1, "text/plain");
      await store().write(otherKey, Buffer.from("b"), 1, "text/plain");
      const get = await store().signGet(signedKey, { contentType: "text/plain", expiresInSeconds: 60 });
      expect((await fetch(get.url)).status).toBe(200);

      const res = await fetch(get.url.replace("tamper-a", "tamper-b"));
      expect(res.status).toBe(403);
    });

    it.skipIf(!opts.verifiesSignatures)(signed("refuses a signed GET URL whose Content-Type parameter was changed"), async () => {
      const key = keyFor("tamper-type");
      await store().write(key, Buffer.from("<script>"), 8, "text/plain");
      const get = await store().signGet(key, { contentType: "text/plain", expiresInSeconds: 60 });

      const url = new URL(get.url);
      const param = [...url.searchParams].find(([, value]) => value === "text/plain")?.[0];
      expect(param, "the signed URL carries the Content-Type as a query parameter").toBeDefined();
      url.searchParams.set(param ?? "", "text/html");
      const res = await fetch(url);
      expect(res.status).toBe(403);
      expect(res.headers.get("content-type")).not.toBe("text/html");
    });

    it.skipIf(!opts.verifiesSignatures)(signed("refuses a signed PUT URL sent to another key, and stores nothing"), async () => {
      const body = Buffer.from("payload");
      const put = await store().signPut(keyFor("put-signed"), { size: body.length, contentType: "text/plain", expiresInSeconds: 60 });
      const other = keyFor("put-other");

      const res = await send({ ...put, url: put.url.replace("put-signed", "put-other") }, body);
      expect(res.status).toBe(403);
      expect(await store().stat(other)).toBeUndefined();
    });

    it("writes, reads, replaces and removes an object", async () => {
      const key = keyFor("round-trip");
      await store().write(key, Buffer.from("first version"), 13, "text/plain");
      expect(await readAll(store().read(key))).toEqual(Buffer.from("first version"));

      await store().write(key, Buffer.from("second"), 6, "text/plain");
      expect(await store().stat(key)).toEqual({ size: 6 });
      expect(await readAll(store().read(key))).toEqual(Buffer.from("second"));

      await store().remove([key]);
      expect(await store().stat(key)).toBeUndefined();
      await expect(store().read(key)).rejects.toThrow();
    });

    it("removes the objects that exist and ignores keys without one", async () => {
      const existing = keyFor("remove-existing");
      await store().write(existing, Buffer.from("x"), 1, "text/plain");
      await store().remove([keyFor("remove-missing"), existing]);
      await store().remove([keyFor("remove-missing-again")]);
      await store().remove([]);
      expect(await store().stat(existing)).toBeUndefined();
    });

    it("reports no object for a key never written, and read rejects", async () => {
      const key = keyFor("missing");
      expect(await store().stat(key)).toBeUndefined();
      await expect(store().read(key)).rejects.toThrow();
    });

    it("keeps nested keys apart, through the API and through signed URLs", async () => {
      const upload = keyFor("uploads/abc");
      const original = keyFor("media/abc/original");
      const thumb = keyFor("media/abc/thumb");
      await store().write(upload, Buffer.from("upload"), 6, "application/octet-stream");
      const body = Buffer.from("original bytes");
      const put = await store().signPut(original, { size: body.length, contentType: "image/jpeg", expiresInSeconds: 60 });
      expect((await send(put, body)).status).toBe(200);
      await store().write(thumb, Buffer.from("thumb"), 5, "image/webp");

      expect(await readAll(store().read(upload))).toEqual(Buffer.from("upload"));
      expect(await readAll(store().read(thumb))).toEqual(Buffer.from("thumb"));
      const get = await store().signGet(original, { contentType: "image/jpeg", expiresInSeconds: 60 });
      const res = await fetch(get.url);
      expect(Buffer.from(await res.arrayBuffer())).toEqual(body);
      // The folder-like prefix is not an object of its own: no size, and removing it removes nothing.
      expect(await store().stat(keyFor("media/abc"))).toBeUndefined();
      await store().remove([keyFor("media/abc")]);
      expect(await store().stat(thumb)).toEqual({ size: 5 });
    });

    it("round trips a 1 MiB object byte-exact through signed PUT and GET", async () => {
      const key = keyFor("one-mebibyte.bin");
      const bytes = randomBytes(1024 * 1024);
      const put = await store().signPut(key, { size: bytes.length, contentType: "application/octet-stream", expiresInSeconds: 60 });
      expect((await send(put, bytes)).status).toBe(200);
      expect(await store().stat(key)).toEqual({ size: bytes.length });

      const get = await store().signGet(key, { contentType: "application/octet-stream", expiresInSeconds: 60 });
      const res = await fetch(get.url);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-length")).toBe(String(bytes.length));
      expect(sha256(Buffer.from(await res.arrayBuffer()))).toBe(sha256(bytes));
      expect(sha256(await readAll(store().read(key)))).toBe(sha256(bytes));
    });
  });
}

/** Sends a signed request the way a client would: its URL, its method, its headers. */
export function send(req: SignedRequest, body?: Uint8Array): Promise<Response> {
  return fetch(req.url, { method: req.method, headers: req.headers, ...(body === undefined ? {} : { body }) });
}

async function readAll(stream: Promise<Readable>): Promise<Buffer> {
  return buffer(await stream);
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}
