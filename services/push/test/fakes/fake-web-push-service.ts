import { createECDH, randomBytes, randomUUID } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { importJWK, jwtVerify } from "jose";
import { decryptAes128gcm } from "./aes128gcm.js";

/** A browser's push subscription, with the private half that only the browser holds. */
export interface BrowserSubscription {
  readonly id: string;
  readonly endpoint: string;
  /** As PushSubscription.toJSON() gives them: URL-safe base64. */
  readonly p256dh: string;
  readonly auth: string;
  readonly privateKey: Buffer;
}

/** One message the push service accepted for a subscription, decrypted as the browser would. */
export interface ReceivedPush {
  readonly subscriptionId: string;
  readonly headers: IncomingHttpHeaders;
  readonly vapid: { readonly publicKey: string; readonly claims: Record<string, unknown> };
  readonly payload: unknown;
}

/** An answer the test programs for the next request to a subscription. */
export interface ProgrammedAnswer {
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

/**
 * A browser vendor's push service on a local port, the peer Web Push talks to: it checks the
 * VAPID authorization (ES256 signature against `k`, aud = this origin, exp within 24 h, a
 * mailto:/https: sub), the Content-Encoding, TTL and Urgency headers, decrypts the aes128gcm
 * body with the subscription's private key and records it. Answers 201 unless the test
 * programmed otherwise; a request that fails a check gets 400/401/403 and is recorded in
 * `refusals`.
 */
export class FakeWebPushService {
  readonly received: ReceivedPush[] = [];
  readonly refusals: string[] = [];
  private readonly subscriptions = new Map<string, BrowserSubscription>();
  private readonly answers = new Map<string, ProgrammedAnswer[]>();
  private constructor(
    private readonly server: Server,
    readonly origin: string,
  ) {}

  static async start(): Promise<FakeWebPushService> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const service = new FakeWebPushService(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    server.on("request", (req, res) => void service.handle(req, res));
    return service;
  }

  /** Subscribes like a browser: a fresh P-256 key pair and a 16-byte auth secret. */
  subscribe(): BrowserSubscription {
    const ecdh = createECDH("prime256v1");
    ecdh.generateKeys();
    const id = randomUUID();
    const subscription = {
      id,
      endpoint: `${this.origin}/push/${id}`,
      p256dh: ecdh.getPublicKey().toString("base64url"),
      auth: randomBytes(16).toString("base64url"),
      privateKey: ecdh.getPrivateKey(),
    };
    this.subscriptions.set(id, subscription);
    return subscription;
  }

  /** The next requests to this subscription get these answers, in order (then 201 again). */
  answerNext(subscription: BrowserSubscription, ...answers: ProgrammedAnswer[]): void {
    this.answers.set(subscription.id, [...(this.answers.get(subscription.id) ?? []), ...answers]);
  }

  receivedBy(subscription: BrowserSubscription): ReceivedPush[] {
    return this.received.filter((r) => r.subscriptionId === subscription.id);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const refuse = (status: number, why: string): void => {
      this.refusals.push(why);
      res.writeHead(status, { "content-type": "text/plain" }).end(why);
    };
    const id = /^\/push\/([\w-]+)$/.exec(req.url ?? "")?.[1];
    const subscription = id === undefined ? undefined : this.subscriptions.get(id);
    if (req.method !== "POST" || !subscription) return refuse(404, `no subscription at ${req.method} ${req.url}`);

    const vapid = await this.verifyVapid(req.headers.authorization);
    if (typeof vapid === "string") return refuse(vapid.startsWith("exp") ? 403 : 401, vapid);
    if (req.headers["content-encoding"] !== "aes128gcm") return refuse(400, `content-encoding ${req.headers["content-encoding"]}`);
    const header = (name: string): string | undefined => {
      const value = req.headers[name];
      return Array.isArray(value) ? value.join(",") : value;
    };
    if (!/^\d+$/.test(header("ttl") ?? "")) return refuse(400, `TTL header ${header("ttl")}`);
    const urgency = header("urgency");
    if (urgency !== undefined && !["very-low", "low", "normal", "high"].includes(urgency)) return refuse(400, `urgency ${urgency}`);
    const topic = header("topic");
    if (topic !== undefined && !/^[A-Za-z0-9_-]{1,32}$/.test(topic)) return refuse(400, `topic ${topic}`);
    if (body.length > 4096) return refuse(413, `body of ${body.length} bytes`);

    let payload: unknown;
    try {
      const plain = decryptAes128gcm(body, {
        privateKey: subscription.privateKey,
        publicKey: Buffer.from(subscription.p256dh, "base64url"),
        auth: Buffer.from(subscription.auth, "base64url"),
      });
      payload = JSON.parse(plain.toString("utf8"));
    } catch (error) {
      return refuse(400, `cannot decrypt: ${error instanceof Error ? error.message : String(error)}`);
    }

    const answer = this.answers.get(subscription.id)?.shift() ?? { status: 201 };
    if (answer.status >= 200 && answer.status < 300) this.received.push({ subscriptionId: subscription.id, headers: req.headers, vapid, payload });
    res.writeHead(answer.status, answer.headers ?? {}).end(answer.body ?? "");
  }

  /** The claims when the header is a valid VAPID authorization for this service, else why not. */
  private async verifyVapid(header: string | undefined): Promise<{ publicKey: string; claims: Record<string, unknown> } | string> {
    const match = /^vapid t=([\w.-]+),\s*k=([\w-]+)$/.exec(header ?? "");
    if (!match?.[1] || !match[2]) return `authorization is not "vapid t=…, k=…": ${header}`;
    const [, jwt, k] = match;
    const point = Buffer.from(k, "base64url");
    if (point.length !== 65 || point[0] !== 4) return "k is not an uncompressed P-256 point";
    const key = await importJWK({ kty: "EC", crv: "P-256", x: point.subarray(1, 33).toString("base64url"), y: point.subarray(33).toString("base64url") }, "ES256");
    try {
      const { payload } = await jwtVerify(jwt, key, { algorithms: ["ES256"], audience: this.origin, requiredClaims: ["exp", "sub"] });
      if ((payload.exp ?? 0) > Date.now() / 1000 + 24 * 3600) return "exp more than 24 h ahead";
      if (typeof payload.sub !== "string" || !/^(mailto:|https:)/.test(payload.sub)) return `sub ${String(payload.sub)}`;
      return { publicKey: k, claims: payload };
    } catch (error) {
      return `VAPID JWT: ${error instanceof Error ? error.message : String(error)}`;
    }
  }
}
