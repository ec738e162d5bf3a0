// Load generator for the media scenario: N users, each in a direct conversation with a peer
// who is online and acknowledges each delivery (so every image message is also delivered), sending ~200 KB photo-like JPEGs
// the way a client does (CreateUpload, PUT to the signed URL, CompleteUpload, send the
// MediaRef over the Session stream), one image at a time per user. A refusal
// (RESOURCE_EXHAUSTED: the image queue is full) is counted and the call tried again after
// the delay the server asks for (100 ms when it names none), as a client would.
// The baseline mode PUTs the same bodies to upload URLs created beforehand, nothing else.
import { createHash } from "node:crypto";
import { setMaxListeners } from "node:events";
import { Agent, request } from "node:http";
import type http2 from "node:http2";
import { setTimeout as sleep } from "node:timers/promises";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import type { MediaRef } from "@messenger/proto/chat/v1/types";
import { AccountsService } from "@messenger/proto/accounts/v1/accounts_service";
import { HistoryService } from "@messenger/proto/history/v1/history_service";
import { MediaService } from "@messenger/proto/media/v1/media_service";
import { retryAfterMsOf } from "@messenger/rpc";
import sharp from "sharp";
import { openSyncedSession, type RawSession } from "../raw-session.js";
import { serveWorker } from "../worker-host.js";

interface Sender {
  readonly conversationId: string;
  readonly headers: { authorization: string };
  readonly session: RawSession;
  /** Sends awaiting their SendResult, by client message id. */
  readonly pending: Map<string, (result: SendOutcome) => void>;
  nextId: number;
}

interface Photo {
  readonly bytes: Buffer;
  readonly sha256: Uint8Array;
}

/** An upload URL created ahead of the baseline's PUTs. */
interface Prepared {
  readonly url: string;
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly photo: Photo;
}

/** A SendResult's verdict: 0 when stored, else a gRPC code and why. */
interface SendOutcome {
  readonly code: number;
  readonly message: string;
  /** Set on a refusal that may be repeated: not before this many ms. */
  readonly retryAfterMs: number;
}

/** What the loops counted since the last take. */
interface Counts {
  sent: number;
  delivered: number;
  refused: number;
  /** Sends repeated after a retryable refusal other than RESOURCE_EXHAUSTED (a service busy or down). */
  resent: number;
  /** Distinct failures and refusals, with how often each happened. */
  errors: Record<string, number>;
  failed: number;
  /** Whole upload→complete→send time per image, ms. */
  totalMs: number[];
  /** CompleteUpload as the client waits for it (sniff, hash, queue wait, sharp, writes), ms. */
  completeMs: number[];
}

const fresh = (): Counts => ({ sent: 0, delivered: 0, refused: 0, resent: 0, failed: 0, errors: {}, totalMs: [], completeMs: [] });
const senders: Sender[] = [];
const connections: http2.ClientHttp2Session[] = [];
const photos: Photo[] = [];
// One socket per concurrent PUT, kept alive between PUTs the way a client's agent does.
const agent = new Agent({ keepAlive: true, maxSockets: 256 });
let rpcSessions: Http2SessionManager | undefined;
let media: Client<typeof MediaService> | undefined;
let counts = fresh();
let running: AbortController | undefined;
let loops: Promise<void>[] = [];
let prepared: Prepared[][] = [];
const sessions: RawSession[] = [];
// Sessions silent for three heartbeat intervals are closed by the gateway; a client pings.
const pinger = setInterval(() => {
  for (const s of sessions) s.send({ frame: { case: "ping", value: { nonce: 1n } } });
}, 10_000);

/** Photo-like JPEGs of about `targetBytes`: smooth gradients under grain, so they compress like a photo, not like noise or flat colour. */
async function makePhotos(count: number, targetBytes: number): Promise<Photo[]> {
  const width = 1600;
  const height = 1200;
  const out: Photo[] = [];
  for (let k = 0; k < count; k++) {
    const raw = Buffer.alloc(width * height * 3);
    let seed = 0x9e3779b9 ^ (k * 7919);
    const rand = (): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return ((seed >>> 0) % 1000) / 1000;
    };
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = 3 * (y * width + x);
        const grain = (rand() - 0.5) * 28;
        raw[i] = Math.max(0, Math.min(255, 128 + 100 * Math.sin((x + 97 * k) / 140) + grain));
        raw[i + 1] = Math.max(0, Math.min(255, 120 + 90 * Math.cos((y - 53 * k) / 110) + grain));
        raw[i + 2] = Math.max(0, Math.min(255, 110 + 80 * Math.sin((x + y) / (180 + 20 * k)) + grain));
      }
    }
    // Quality searched so the size lands near the target whatever libjpeg's build does with grain.
    let lo = 20;
    let hi = 95;
    let best: Buffer | undefined;
    while (lo <= hi) {
      const q = Math.floor((lo + hi) / 2);
      const jpeg = await sharp(raw, { raw: { width, height, channels: 3 } }).jpeg({ quality: q }).toBuffer();
      if (!best || Math.abs(jpeg.length - targetBytes) < Math.abs(best.length - targetBytes)) best = jpeg;
      if (jpeg.length < targetBytes) lo = q + 1;
      else hi = q - 1;
    }
    out.push({ bytes: best!, sha256: createHash("sha256").update(best!).digest() });
  }
  return out;
}

async function openSession(url: string, token: string, onFrame: ConstructorParameters<typeof RawSession>[1]): Promise<RawSession> {
  const { connection, session } = await openSyncedSession(url, token, onFrame);
  connections.push(connection);
  return session;
}

/** PUTs a body to a signed URL; resolves when the blob store answered 2xx. */
function put(url: string, method: string, headers: Record<string, string>, body: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent, headers: { ...headers, "content-length": String(body.length) } }, (res) => {
      res.resume();
      res.on("end", () => (res.statusCode! >= 200 && res.statusCode! < 300 ? resolve() : reject(new Error(`PUT answered HTTP ${res.statusCode}`))));
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** Calls `work`, again after the asked delay for as long as it is refused with RESOURCE_EXHAUSTED. */
async function retryingRefusals<T>(work: () => Promise<T>, signal: AbortSignal): Promise<T> {
  for (;;) {
    try {
      return await work();
    } catch (err) {
      const e = ConnectError.from(err);
      if (e.code !== Code.ResourceExhausted || signal.aborted) throw err;
      counts.refused++;
      noteError(`${Code[e.code]}: ${e.rawMessage}`);
      await sleep(retryAfterMsOf(e) ?? 100, undefined, { signal });
    }
  }
}

function createUpload(s: Sender, photo: Photo, signal: AbortSignal) {
  const req = { conversationId: s.conversationId, fileName: "IMG_0001.jpg", mimeType: "image/jpeg", sizeBytes: BigInt(photo.bytes.length), sha256: photo.sha256 };
  return retryingRefusals(() => media!.createUpload(req, { headers: s.headers, signal }), signal);
}

const noteError = (what: string): void => {
  counts.errors[what] = (counts.errors[what] ?? 0) + 1;
};

/** Sends the reference over the session under `clientMessageId`; resolves with the SendResult's verdict. */
function sendMedia(s: Sender, ref: MediaRef, clientMessageId: string, signal: AbortSignal): Promise<SendOutcome> {
  return new Promise((resolve) => {
    // Stopping does not wait for a SendResult that may never come.
    const stopped = (): void => resolve({ code: Code.Canceled, message: "stopped", retryAfterMs: 0 });
    signal.addEventListener("abort", stopped, { once: true });
    s.pending.set(clientMessageId, (result) => {
      signal.removeEventListener("abort", stopped);
      resolve(result);
    });
    s.session.send({ frame: { case: "send", value: { clientMessageId, conversationId: s.conversationId, body: { case: "media", value: ref } } } });
  });
}

async function imageLoop(s: Sender, offset: number, signal: AbortSignal): Promise<void> {
  for (let n = offset; !signal.aborted; n++) {
    const photo = photos[n % photos.length]!;
    const t0 = performance.now();
    try {
      const created = await createUpload(s, photo, signal);
      await put(created.uploadUrl, created.uploadMethod || "PUT", Object.fromEntries(created.uploadHeaders.map((h) => [h.name, h.value])), photo.bytes);
      const c0 = performance.now();
      const done = await retryingRefusals(() => media!.completeUpload({ mediaId: created.mediaId }, { headers: s.headers, signal }), signal);
      const c1 = performance.now();
      // A retryable refusal is repeated under the same id, as the SDK does: the session
      // refuses every later send until it is, to keep the conversation's order.
      const clientMessageId = `img${s.nextId++}`;
      let sent = await sendMedia(s, done.media!, clientMessageId, signal);
      while (sent.code !== 0 && sent.retryAfterMs > 0 && !signal.aborted) {
        if (sent.code === Code.ResourceExhausted) counts.refused++;
        else counts.resent++;
        noteError(`send ${Code[sent.code]}: ${sent.message}`);
        await sleep(sent.retryAfterMs, undefined, { signal });
        sent = await sendMedia(s, done.media!, clientMessageId, signal);
      }
      if (sent.code !== 0) throw new Error(`send refused with ${Code[sent.code]}: ${sent.message}`);
      counts.sent++;
      counts.totalMs.push(performance.now() - t0);
      counts.completeMs.push(c1 - c0);
    } catch (err) {
      if (signal.aborted) return;
      counts.failed++;
      noteError(err instanceof Error ? err.message : String(err));
      await sleep(100, undefined, { signal }).catch(() => undefined);
    }
  }
}

serveWorker({
  async setup(a) {
    const { url, count, prefix, photoCount, photoBytes } = a as { url: string; count: number; prefix: string; photoCount: number; photoBytes: number };
    photos.push(...(await makePhotos(photoCount, photoBytes)));
    rpcSessions = new Http2SessionManager(url);
    const transport = createGrpcTransport({ baseUrl: url, sessionManager: rpcSessions });
    const accounts = createClient(AccountsService, transport);
    const history = createClient(HistoryService, transport);
    media = createClient(MediaService, transport);
    await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const tokens: string[] = [];
        const ids: string[] = [];
        for (const username of [`${prefix}s${i}`, `${prefix}p${i}`]) {
          const reg = await accounts.register({ username, password: "bench password" });
          const login = await accounts.login({ username, password: "bench password", deviceId: "bench" });
          tokens.push(login.tokens!.accessToken);
          ids.push(reg.user!.id);
        }
        const headers = { authorization: `Bearer ${tokens[0]}` };
        const conv = await history.openDirectConversation({ peerUserId: ids[1]! }, { headers });
        const pending = new Map<string, (result: SendOutcome) => void>();
        const session = await openSession(url, tokens[0]!, (f) => {
          if (f.frame.case !== "sendResult") return;
          const done = pending.get(f.frame.value.clientMessageId);
          pending.delete(f.frame.value.clientMessageId);
          done?.({ code: f.frame.value.errorCode, message: f.frame.value.errorMessage, retryAfterMs: f.frame.value.retryAfterMs });
        });
        const peer = await openSession(url, tokens[1]!, (f) => {
          if (f.frame.case !== "message" || f.frame.value.body.case !== "media") return;
          counts.delivered++;
          peer.send({ frame: { case: "ack", value: { conversationId: conv.conversation!.id, seq: f.frame.value.seq } } });
        });
        sessions.push(session, peer);
        senders.push({ conversationId: conv.conversation!.id, headers, session, pending, nextId: 0 });
      }),
    );
    return { senders: senders.length, photoBytes: photos.map((p) => p.bytes.length) };
  },
  /** Every sender loops upload→complete→send until stop. */
  async start() {
    counts = fresh();
    const stop = (running = new AbortController());
    setMaxListeners(4 * senders.length + 10, stop.signal);
    loops = senders.map((s, i) => imageLoop(s, i, stop.signal));
    return {};
  },
  /** What happened since the last take. */
  async take() {
    const out = counts;
    counts = fresh();
    return out;
  },
  async stop() {
    running?.abort();
    await Promise.all(loops);
    return {};
  },
  /** Creates `perSender` upload URLs for every sender, untimed, for the next `puts`. */
  async prepare(a) {
    const perSender = a.perSender as number;
    const signal = new AbortController().signal;
    prepared = await Promise.all(
      senders.map(async (s, i) => {
        const urls: Prepared[] = [];
        for (let n = 0; n < perSender; n++) {
          const photo = photos[(i + n) % photos.length]!;
          const created = await createUpload(s, photo, signal);
          urls.push({ url: created.uploadUrl, method: created.uploadMethod || "PUT", headers: Object.fromEntries(created.uploadHeaders.map((h) => [h.name, h.value])), photo });
        }
        return urls;
      }),
    );
    return {};
  },
  /** One client per sender PUTs its prepared URLs back to back; the wall time of them all. */
  async puts() {
    const t0 = performance.now();
    const done = await Promise.all(
      prepared.map(async (urls) => {
        let bytes = 0;
        for (const u of urls) {
          await put(u.url, u.method, u.headers, u.photo.bytes);
          bytes += u.photo.bytes.length;
        }
        return { n: urls.length, bytes };
      }),
    );
    prepared = [];
    return { seconds: (performance.now() - t0) / 1000, puts: done.reduce((x, d) => x + d.n, 0), bytes: done.reduce((x, d) => x + d.bytes, 0) };
  },
  async close() {
    clearInterval(pinger);
    for (const s of sessions) s.close();
    for (const c of connections) c.destroy();
    rpcSessions?.abort();
    agent.destroy();
    return {};
  },
});
