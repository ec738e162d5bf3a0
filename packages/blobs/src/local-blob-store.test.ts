import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import { connect, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { blobStoreContract, send } from "./blob-store.contract.js";
import { InvalidBlobKeyError, openLocalBlobStore, type LocalBlobStore } from "./local-blob-store.js";

/** A local store behind a real node:http server on a free port, with a clock the test owns. */
async function startLocal(): Promise<{
  store: LocalBlobStore;
  root: string;
  dir: string;
  port: number;
  clock: { pinned: number | undefined; offset: number };
  stop(): Promise<void>;
}> {
  const root = mkdtempSync(join(tmpdir(), "blobs-local-"));
  const dir = join(root, "blobs");
  const clock: { pinned: number | undefined; offset: number } = { pinned: undefined, offset: 0 };
  let port = 0;
  const store = openLocalBlobStore({
    dir,
    secret: randomBytes(32),
    publicBaseUrl: () => `http://127.0.0.1:${port}`,
    now: () => (clock.pinned ?? Date.now()) + clock.offset,
  });
  const server: Server = createServer((req, res) => {
    if (req.url?.startsWith(store.httpPrefix) === true) store.handle(req, res);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
  return {
    store,
    root,
    dir,
    port,
    clock,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
      await store.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

blobStoreContract("local folder", async () => {
  const local = await startLocal();
  return {
    store: local.store,
    shiftClock: (ms) => {
      local.clock.offset = ms;
    },
    dispose: () => local.stop(),
  };
});

describe("local blob store", () => {
  let local: Awaited<ReturnType<typeof startLocal>>;
  beforeAll(async () => {
    local = await startLocal();
  });
  afterAll(async () => {
    await local.stop();
  });

  /** Every file under the root, temp files included, as paths relative to it. */
  const filesUnderRoot = (): string[] =>
    readdirSync(local.root, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => join(entry.parentPath, entry.name).slice(local.root.length + 1))
      .sort();

  /** A raw HTTP/1.1 request with the path exactly as given (fetch would normalise "..", "%2e"). */
  const rawRequest = (method: string, path: string, headers: Record<string, string> = {}, body?: Buffer): Promise<number> =>
    new Promise((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port: local.port, method, path, headers }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.end(body);
    });

  it("refuses a PUT whose Content-Length is below the signed size, and stores nothing", async () => {
    const key = "cl/short";
    const put = await local.store.signPut(key, { size: 10, contentType: "image/png", expiresInSeconds: 60 });
    const res = await send(put, Buffer.alloc(5));
    expect(res.status).toBe(400);
    expect(await local.store.stat(key)).toBeUndefined();
    expect(filesUnderRoot().filter((f) => f.startsWith("blobs/cl"))).toEqual([]);
  });

  it("refuses with 413 a PUT whose body is longer than signed, and stores nothing", async () => {
    const key = "cl/long";
    const put = await local.store.signPut(key, { size: 10, contentType: "image/png", expiresInSeconds: 60 });
    const res = await send(put, Buffer.alloc(11));
    expect(res.status).toBe(413);
    expect(await local.store.stat(key)).toBeUndefined();
    expect(filesUnderRoot().filter((f) => f.startsWith("blobs/cl"))).toEqual([]);
  });

  it("refuses with 411 a chunked PUT that declares no Content-Length", async () => {
    const key = "cl/chunked";
    const put = await local.store.signPut(key, { size: 4, contentType: "image/png", expiresInSeconds: 60 });
    const status = await rawRequest("PUT", new URL(put.url).pathname + new URL(put.url).search, {
      "content-type": "image/png",
      "transfer-encoding": "chunked",
    }, Buffer.from("abcd"));
    expect(status).toBe(411);
    expect(await local.store.stat(key)).toBeUndefined();
  });

  it("keeps no partial object or temp file when the client disconnects mid-upload", async () => {
    const key = "interrupted/upload";
    const put = await local.store.signPut(key, { size: 1000, contentType: "image/png", expiresInSeconds: 60 });
    const url = new URL(put.url);
    const socket = connect(local.port, "127.0.0.1");
    socket.write(
      `PUT ${url.pathname}${url.search} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\nContent-Length: 1000\r\n\r\n`,
    );
    socket.write(Buffer.alloc(400, 1));
    // The upload is underway once its temp file exists; only then does cutting it off prove anything.
    await vi.waitFor(() => expect(filesUnderRoot().some((f) => f.startsWith("blobs/interrupted/.upload."))).toBe(true));
    socket.destroy();
    await vi.waitFor(() => expect(filesUnderRoot().filter((f) => f.startsWith("blobs/interrupted"))).toEqual([]));
    expect(await local.store.stat(key)).toBeUndefined();
  });

  it("refuses a PUT whose Content-Type differs from the signed one, and stores nothing", async () => {
    const key = "type/mismatch";
    const put = await local.store.signPut(key, { size: 3, contentType: "image/png", expiresInSeconds: 60 });
    const res = await send({ ...put, headers: { "content-type": "text/html" } }, Buffer.from("abc"));
    expect(res.status).toBe(403);
    expect(await local.store.stat(key)).toBeUndefined();
  });

  it("refuses keys that could leave the folder in every API call", async () => {
    const bad = ["../evil", "/etc/passwd", "a//b", "a/../../evil", "", "a/", ".hidden", "a\\b", "a b"];
    for (const key of bad) {
      await expect(local.store.signPut(key, { size: 1, contentType: "text/plain", expiresInSeconds: 60 }), key).rejects.toThrow(InvalidBlobKeyError);
      await expect(local.store.signGet(key, { contentType: "text/plain", expiresInSeconds: 60 }), key).rejects.toThrow(InvalidBlobKeyError);
      await expect(local.store.write(key, Buffer.from("x"), 1, "text/plain"), key).rejects.toThrow(InvalidBlobKeyError);
      await expect(local.store.stat(key), key).rejects.toThrow(InvalidBlobKeyError);
      await expect(local.store.read(key), key).rejects.toThrow(InvalidBlobKeyError);
      await expect(local.store.remove([key]), key).rejects.toThrow(InvalidBlobKeyError);
    }
    expect(existsSync(join(local.root, "evil"))).toBe(false);
  });

  it("answers traversal paths over HTTP with 400 or 404 and creates no file outside the folder", async () => {
    const paths = [
      "/media/blobs/..%2Fevil",
      "/media/blobs/..%2F..%2Fevil",
      "/media/blobs/%2e%2e%2fevil",
      "/media/blobs/%2Fevil",
      "/media/blobs/a%2F%2Fb",
      "/media/blobs/a/../../evil",
      "/media/blobs/%E0%A4%A",
    ];
    for (const path of paths) {
      const status = await rawRequest("PUT", `${path}?exp=9999999999&size=1&ct=text%2Fplain&sig=AAAA`, { "content-type": "text/plain" }, Buffer.from("x"));
      expect([400, 404], path).toContain(status);
    }
    expect(readdirSync(local.root)).toEqual(["blobs"]);
    expect(filesUnderRoot().filter((f) => f.includes("evil"))).toEqual([]);
  });

  it("answers HEAD with the GET headers and no body, and other methods with 405", async () => {
    const key = "head/object";
    await local.store.write(key, Buffer.from("hello"), 5, "text/plain");
    const get = await local.store.signGet(key, { contentType: "text/plain", expiresInSeconds: 60 });

    const head = await fetch(get.url, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe("5");
    expect(head.headers.get("content-type")).toBe("text/plain");
    expect(await head.text()).toBe("");

    for (const method of ["DELETE", "POST", "PATCH", "OPTIONS"]) {
      const res = await fetch(get.url, { method });
      expect(res.status, method).toBe(405);
    }
    expect(await local.store.stat(key)).toEqual({ size: 5 });
  });

  it("serves downloads with nosniff and a private cache lifetime equal to the URL's remaining life", async () => {
    const key = "cache/object";
    await local.store.write(key, Buffer.from("data"), 4, "image/png");
    local.clock.pinned = 1_700_000_000_000;
    try {
      const get = await local.store.signGet(key, { contentType: "image/png", expiresInSeconds: 60 });
      local.clock.pinned += 20_000;
      const res = await fetch(get.url);
      expect(res.status).toBe(200);
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("cache-control")).toBe("private, max-age=40");
    } finally {
      local.clock.pinned = undefined;
    }
  });

  it("refuses a URL with a garbage, missing or borrowed signature with 403", async () => {
    const key = "sig/object";
    await local.store.write(key, Buffer.from("data"), 4, "image/png");
    const get = await local.store.signGet(key, { contentType: "image/png", expiresInSeconds: 60 });
    const put = await local.store.signPut(key, { size: 4, contentType: "image/png", expiresInSeconds: 60 });

    const withSig = (sig: string | undefined): string => {
      const url = new URL(get.url);
      if (sig === undefined) url.searchParams.delete("sig");
      else url.searchParams.set("sig", sig);
      return url.toString();
    };
    expect((await fetch(get.url)).status).toBe(200);
    for (const sig of ["garbage", "", "!!!not base64!!!", randomBytes(32).toString("base64url"), undefined]) {
      expect((await fetch(withSig(sig))).status, String(sig)).toBe(403);
    }
    // A PUT URL's signature does not open a download, nor a GET URL's an upload.
    expect((await fetch(put.url)).status).toBe(403);
    expect((await send({ ...get, method: "PUT", headers: { "content-type": "image/png" } }, Buffer.from("evil"))).status).toBe(403);
    expect(await readBack(key)).toBe("data");
  });

  it("refuses a URL once the injected clock passes its expiry, and not before", async () => {
    const key = "expiry/object";
    await local.store.write(key, Buffer.from("data"), 4, "image/png");
    local.clock.pinned = 1_700_000_000_000;
    try {
      const get = await local.store.signGet(key, { contentType: "image/png", expiresInSeconds: 1 });
      expect(get.expiresAt).toBe(1_700_000_001_000);
      expect((await fetch(get.url)).status).toBe(200);
      local.clock.pinned += 1_000;
      expect((await fetch(get.url)).status).toBe(403);
    } finally {
      local.clock.pinned = undefined;
    }
  });

  it("refuses a write whose body does not match the declared size, keeping the old object", async () => {
    const key = "write/size";
    await local.store.write(key, Buffer.from("old"), 3, "text/plain");
    await expect(local.store.write(key, Buffer.from("longer"), 3, "text/plain")).rejects.toThrow();
    await expect(local.store.write(key, Buffer.from("a"), 3, "text/plain")).rejects.toThrow();
    expect(await readBack(key)).toBe("old");
    expect(filesUnderRoot().filter((f) => f.startsWith("blobs/write/"))).toEqual(["blobs/write/size"]);
  });

  async function readBack(key: string): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of await local.store.read(key)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString();
  }
});
