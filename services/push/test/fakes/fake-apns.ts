import { generateKeyPairSync, randomUUID, type KeyObject } from "node:crypto";
import { createServer, type Http2Server, type IncomingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream } from "node:http2";
import type { AddressInfo } from "node:net";
import { decodeJwt, jwtVerify } from "jose";

/** One notification APNs accepted. */
export interface ReceivedApns {
  readonly deviceToken: string;
  readonly headers: IncomingHttpHeaders;
  /** The provider token it carried. */
  readonly providerToken: string;
  readonly body: { aps: Record<string, unknown> } & Record<string, unknown>;
}

/** An answer the test programs for the next request to a device token. */
export interface ApnsAnswer {
  readonly status: number;
  readonly reason?: string;
  readonly headers?: Record<string, string>;
}

/**
 * An APNs gateway on a local cleartext HTTP/2 port. It checks the provider token (ES256
 * signature against the team's key, kid, iss = the team, iat no older than an hour), the
 * headers (apns-topic = the bundle, push type, priority, collapse id ≤ 64 bytes, expiration,
 * apns-id a UUID) and the JSON body (an aps dictionary, ≤ 4 KB), answering as Apple does:
 * 200 with apns-id, or a status with {"reason"}. A refusal is recorded in `refusals`.
 */
export class FakeApns {
  readonly received: ReceivedApns[] = [];
  readonly refusals: string[] = [];
  /** HTTP/2 sessions clients opened: a provider keeps one. */
  sessionsOpened = 0;
  readonly keyId = "KEY1234567";
  readonly teamId = "TEAM123456";
  readonly bundleId = "org.example.messenger";
  /** The .p8 key Apple would let the team download. */
  readonly keyPem: string;
  private readonly publicKey: KeyObject;
  private readonly answers = new Map<string, ApnsAnswer[]>();

  private constructor(
    private readonly server: Http2Server,
    readonly origin: string,
    private readonly now: () => number,
  ) {
    const pair = generateKeyPairSync("ec", { namedCurve: "P-256" });
    this.publicKey = pair.publicKey;
    this.keyPem = pair.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  }

  /** `now` is the clock provider tokens age by: pass the provider's when a test moves time. */
  static async start(now: () => number = Date.now): Promise<FakeApns> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const fake = new FakeApns(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`, now);
    server.on("session", (session) => {
      fake.sessionsOpened++;
      fake.openSessions.add(session);
      session.once("close", () => fake.openSessions.delete(session));
    });
    server.on("stream", (stream, headers) => void fake.handle(stream, headers));
    return fake;
  }

  /** The next requests to this device get these answers, in order (then 200 again). */
  answerNext(deviceToken: string, ...answers: ApnsAnswer[]): void {
    this.answers.set(deviceToken, [...(this.answers.get(deviceToken) ?? []), ...answers]);
  }

  /** Sends GOAWAY on every open session, as Apple does when it rotates a connection. */
  goAway(): void {
    for (const session of this.openSessions) session.goaway();
  }

  private readonly openSessions = new Set<ServerHttp2Session>();

  async close(): Promise<void> {
    for (const session of this.openSessions) session.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    const answer = (status: number, reason?: string, extra: Record<string, string> = {}): void => {
      const apnsId = typeof headers["apns-id"] === "string" ? headers["apns-id"] : randomUUID();
      stream.respond({ ":status": status, "apns-id": apnsId, ...(reason ? { "content-type": "application/json" } : {}), ...extra });
      stream.end(reason ? JSON.stringify({ reason }) : undefined);
    };
    const refuse = (status: number, reason: string, why: string): void => {
      this.refusals.push(`${reason}: ${why}`);
      answer(status, reason);
    };

    const deviceToken = /^\/3\/device\/([0-9a-fA-F]+)$/.exec(headers[":path"] ?? "")?.[1];
    if (headers[":method"] !== "POST") return refuse(405, "MethodNotAllowed", String(headers[":method"]));
    if (!deviceToken) return refuse(404, "BadPath", String(headers[":path"]));

    const providerToken = /^bearer (\S+)$/.exec(String(headers.authorization ?? ""))?.[1];
    if (!providerToken) return refuse(403, "MissingProviderToken", "no bearer token");
    try {
      const { protectedHeader, payload } = await jwtVerify(providerToken, this.publicKey, { algorithms: ["ES256"], issuer: this.teamId, requiredClaims: ["iat"], currentDate: new Date(this.now()) });
      if (protectedHeader.kid !== this.keyId) return refuse(403, "InvalidProviderToken", `kid ${protectedHeader.kid}`);
      if ((payload.iat ?? 0) * 1000 < this.now() - 3600_000) return refuse(403, "ExpiredProviderToken", `iat ${payload.iat}`);
    } catch (error) {
      return refuse(403, "InvalidProviderToken", error instanceof Error ? error.message : String(error));
    }

    if (headers["apns-topic"] !== this.bundleId) return refuse(400, "TopicDisallowed", String(headers["apns-topic"]));
    const pushType = headers["apns-push-type"];
    if (pushType !== "alert" && pushType !== "background") return refuse(400, "InvalidPushType", String(pushType));
    const priority = headers["apns-priority"];
    if (priority !== undefined && priority !== "10" && priority !== "5" && priority !== "1") return refuse(400, "BadPriority", String(priority));
    if (pushType === "background" && priority !== "5") return refuse(400, "BadPriority", "a background push must have priority 5");
    const collapseId = headers["apns-collapse-id"];
    if (typeof collapseId === "string" && Buffer.byteLength(collapseId) > 64) return refuse(400, "BadCollapseId", collapseId);
    const expiration = headers["apns-expiration"];
    if (expiration !== undefined && !/^\d+$/.test(String(expiration))) return refuse(400, "BadExpirationDate", String(expiration));
    const id = headers["apns-id"];
    if (id !== undefined && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(String(id))) return refuse(400, "BadMessageId", String(id));
    if (Buffer.byteLength(text) > 4096) return refuse(413, "PayloadTooLarge", `${Buffer.byteLength(text)} bytes`);
    let body: ReceivedApns["body"];
    try {
      body = JSON.parse(text) as ReceivedApns["body"];
      if (typeof body.aps !== "object" || body.aps === null) throw new Error("no aps dictionary");
    } catch (error) {
      return refuse(400, "PayloadEmpty", error instanceof Error ? error.message : String(error));
    }

    const programmed = this.answers.get(deviceToken)?.shift();
    if (programmed && programmed.status !== 200) return answer(programmed.status, programmed.reason, programmed.headers);
    this.received.push({ deviceToken, headers, providerToken, body });
    answer(200);
  }

  /** The iat of a provider token a request carried, in seconds. */
  static issuedAt(providerToken: string): number {
    return decodeJwt(providerToken).iat ?? 0;
  }
}
