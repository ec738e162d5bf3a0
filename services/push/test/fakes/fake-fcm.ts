import { generateKeyPairSync, randomBytes, type KeyObject } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { jwtVerify } from "jose";
import type { FcmServiceAccount } from "../../src/providers/fcm-service-account.js";

/** One message FCM accepted. */
export interface ReceivedFcmMessage {
  readonly accessToken: string;
  readonly message: {
    token: string;
    data: Record<string, string>;
    android?: { collapse_key?: string; priority?: string; ttl?: string; notification?: { title?: string; body?: string; tag?: string; notification_count?: number } };
  };
}

/** An answer the test programs for the next send to a registration token. */
export interface FcmAnswer {
  readonly status: number;
  /** The error body's status and FcmError errorCode, as FCM sends them. */
  readonly error?: { readonly status: string; readonly errorCode?: string; readonly message?: string };
  readonly headers?: Record<string, string>;
}

const scope = "https://www.googleapis.com/auth/firebase.messaging";

/**
 * Google's OAuth token endpoint and FCM HTTP v1 on one local port. The token endpoint checks
 * the JWT-bearer grant (RS256 signature against the test service account's public key, iss,
 * aud, scope, a lifetime of at most an hour) and issues opaque tokens that expire; the send
 * endpoint checks the bearer token, the project path and the message's shape. A refusal is
 * recorded in `refusals`.
 */
export class FakeFcm {
  readonly received: ReceivedFcmMessage[] = [];
  readonly refusals: string[] = [];
  /** Successful token exchanges. */
  exchanges = 0;
  /** Seconds each issued token lives. */
  tokenLifetimeSeconds = 3600;
  readonly projectId = "test-project";
  readonly clientEmail = "push@test-project.iam.gserviceaccount.com";
  private readonly publicKey: KeyObject;
  private readonly privateKeyPem: string;
  private readonly tokens = new Map<string, number>();
  private readonly answers = new Map<string, FcmAnswer[]>();

  private constructor(
    private readonly server: Server,
    readonly origin: string,
    private readonly now: () => number,
  ) {
    const pair = generateKeyPairSync("rsa", { modulusLength: 2048 });
    this.publicKey = pair.publicKey;
    this.privateKeyPem = pair.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  }

  /** `now` is the clock tokens expire by: pass the provider's when a test moves time. */
  static async start(now: () => number = Date.now): Promise<FakeFcm> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const fake = new FakeFcm(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`, now);
    server.on("request", (req, res) => void fake.handle(req, res));
    return fake;
  }

  /** The key file a Firebase console would give, pointing its token_uri at this server. */
  serviceAccount(): FcmServiceAccount {
    return { project_id: this.projectId, client_email: this.clientEmail, private_key: this.privateKeyPem, token_uri: `${this.origin}/token` };
  }

  /** Every issued token stops working, as when Google revokes them. */
  revokeTokens(): void {
    this.tokens.clear();
  }

  /** The next sends to this registration token get these answers, in order (then 200 again). */
  answerNext(token: string, ...answers: FcmAnswer[]): void {
    this.answers.set(token, [...(this.answers.get(token) ?? []), ...answers]);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    const json = (status: number, value: unknown, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { "content-type": "application/json", ...headers }).end(JSON.stringify(value));
    };
    const refuse = (status: number, grpcStatus: string, why: string): void => {
      this.refusals.push(why);
      json(status, { error: { code: status, message: why, status: grpcStatus } });
    };
    if (req.method === "POST" && req.url === "/token") return this.token(body, json);
    if (req.method !== "POST" || req.url !== `/v1/projects/${this.projectId}/messages:send`) return refuse(404, "NOT_FOUND", `no route ${req.method} ${req.url}`);

    const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? "")?.[1];
    const expiresAt = bearer === undefined ? undefined : this.tokens.get(bearer);
    if (bearer === undefined || expiresAt === undefined || expiresAt <= this.now()) return refuse(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.");
    if (!req.headers["content-type"]?.startsWith("application/json")) return refuse(400, "INVALID_ARGUMENT", `content-type ${req.headers["content-type"]}`);
    let message: ReceivedFcmMessage["message"];
    try {
      message = (JSON.parse(body) as { message: ReceivedFcmMessage["message"] }).message;
    } catch {
      return refuse(400, "INVALID_ARGUMENT", "body is not JSON");
    }
    if (typeof message?.token !== "string") return refuse(400, "INVALID_ARGUMENT", "message.token missing");
    if (typeof message.data !== "object" || Object.values(message.data).some((v) => typeof v !== "string")) return refuse(400, "INVALID_ARGUMENT", "data values must be strings");
    const priority = message.android?.priority;
    if (priority !== undefined && priority !== "HIGH" && priority !== "NORMAL") return refuse(400, "INVALID_ARGUMENT", `android.priority ${priority}`);

    const answer = this.answers.get(message.token)?.shift();
    if (answer && answer.status !== 200) {
      const error = answer.error ?? { status: "INTERNAL" };
      return json(
        answer.status,
        {
          error: {
            code: answer.status,
            message: error.message ?? error.status,
            status: error.status,
            ...(error.errorCode ? { details: [{ "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", errorCode: error.errorCode }] } : {}),
          },
        },
        answer.headers,
      );
    }
    this.received.push({ accessToken: bearer, message });
    json(200, { name: `projects/${this.projectId}/messages/${randomBytes(8).toString("hex")}` });
  }

  private async token(body: string, json: (status: number, value: unknown) => void): Promise<void> {
    const refuse = (why: string): void => {
      this.refusals.push(why);
      json(400, { error: "invalid_grant", error_description: why });
    };
    const form = new URLSearchParams(body);
    if (form.get("grant_type") !== "urn:ietf:params:oauth:grant-type:jwt-bearer") return refuse(`grant_type ${form.get("grant_type")}`);
    try {
      const { payload, protectedHeader } = await jwtVerify(form.get("assertion") ?? "", this.publicKey, {
        algorithms: ["RS256"],
        issuer: this.clientEmail,
        audience: `${this.origin}/token`,
        requiredClaims: ["iat", "exp"],
        currentDate: new Date(this.now()),
      });
      if (protectedHeader.typ !== "JWT") throw new Error(`typ ${protectedHeader.typ}`);
      if (payload.scope !== scope) throw new Error(`scope ${String(payload.scope)}`);
      if ((payload.exp ?? 0) - (payload.iat ?? 0) > 3600) throw new Error("assertion lives longer than an hour");
    } catch (error) {
      return refuse(`assertion: ${error instanceof Error ? error.message : String(error)}`);
    }
    this.exchanges++;
    const token = `ya29.${randomBytes(24).toString("base64url")}`;
    this.tokens.set(token, this.now() + this.tokenLifetimeSeconds * 1000);
    json(200, { access_token: token, expires_in: this.tokenLifetimeSeconds, token_type: "Bearer" });
  }
}
