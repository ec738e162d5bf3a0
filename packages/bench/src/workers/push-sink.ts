// The push scenario's no-op Web Push service: a real HTTP peer on a local port that answers
// 201 as soon as a request's body has arrived, and keeps each request (its subscription, the
// wall-clock time its headers arrived, its encrypted body) for afterwards. The browsers'
// side lives here too: `subscribe` makes the subscriptions (a P-256 key pair and an auth
// secret each, as a browser does) whose private halves decrypt the bodies in `collect`, after
// the burst, so the no-op answers never wait for a decryption.
import { createECDH, randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { decryptAes128gcm } from "../../../../services/push/test/fakes/aes128gcm.js";
import { serveWorker } from "../worker-host.js";

interface Subscriber {
  readonly privateKey: Buffer;
  readonly publicKey: Buffer;
  readonly auth: Buffer;
}

interface Received {
  /** The subscription's index, from the endpoint's path; -1 for a path that names none. */
  readonly subscription: number;
  /** Date.now() when the request's headers arrived (the system's clock: same machine). */
  readonly atMs: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

/** What `collect` returns per request: whose it was, when, and the message it named (or why it could not be read). */
export interface CollectedPush {
  readonly subscription: number;
  readonly atMs: number;
  readonly messageId: string;
  readonly error?: string;
}

const subscribers: Subscriber[] = [];
let received: Received[] = [];
/** The first request of the last `collect`, kept for `sample`. */
let sampled: Received | undefined;
let server: Server | undefined;
/** The headers a Web Push sender sets, kept so the direct baseline can send the very same request. */
const kept = ["content-type", "content-encoding", "ttl", "urgency", "topic", "authorization"];

serveWorker({
  async listen() {
    server = createServer((req, res) => {
      const atMs = Date.now();
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const m = /^\/s\/(\d+)$/.exec(req.url ?? "");
        const headers: Record<string, string> = {};
        for (const h of kept) if (typeof req.headers[h] === "string") headers[h] = req.headers[h];
        received.push({ subscription: m ? Number(m[1]) : -1, atMs, headers, body: Buffer.concat(chunks) });
        res.writeHead(201, { location: `/m/${received.length}` }).end();
      });
    });
    // Longer than the undici client's keep-alive, so the server never closes a connection the client is about to reuse.
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
  },
  async subscribe(a) {
    const { origin, count } = a as { origin: string; count: number };
    const out: { endpoint: string; p256dh: string; auth: string }[] = [];
    for (let i = 0; i < count; i++) {
      const ecdh = createECDH("prime256v1");
      ecdh.generateKeys();
      const s: Subscriber = { privateKey: ecdh.getPrivateKey(), publicKey: ecdh.getPublicKey(), auth: randomBytes(16) };
      out.push({ endpoint: `${origin}/s/${subscribers.length}`, p256dh: s.publicKey.toString("base64url"), auth: s.auth.toString("base64url") });
      subscribers.push(s);
    }
    return out;
  },
  /** How many requests arrived since the last `collect` or `reset`, and when the last one did. */
  async count() {
    return { count: received.length, lastAtMs: received.at(-1)?.atMs ?? 0 };
  },
  /** The first request of the last `collect` as it arrived (headers and body, base64), for the direct baseline to replay. */
  async sample() {
    const r = sampled;
    if (!r) throw new Error("no request collected yet to sample");
    return { headers: r.headers, body: r.body.toString("base64") };
  },
  async reset() {
    received = [];
    return {};
  },
  /** Decrypts what arrived since the last `collect` or `reset` and forgets it. */
  async collect() {
    const taken = received;
    received = [];
    sampled = taken[0] ?? sampled;
    return taken.map((r): CollectedPush => {
      const s = subscribers[r.subscription];
      if (!s) return { subscription: r.subscription, atMs: r.atMs, messageId: "", error: "no such subscription" };
      try {
        const payload = JSON.parse(decryptAes128gcm(r.body, s).toString("utf8")) as { message_id?: unknown };
        return { subscription: r.subscription, atMs: r.atMs, messageId: typeof payload.message_id === "string" ? payload.message_id : "", ...(typeof payload.message_id === "string" ? {} : { error: "no message_id" }) };
      } catch (err) {
        return { subscription: r.subscription, atMs: r.atMs, messageId: "", error: err instanceof Error ? err.message : String(err) };
      }
    });
  },
  async close() {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    return {};
  },
});
