import http2 from "node:http2";
import { create, toBinary, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { CompleteUploadRequestSchema, CreateUploadRequestSchema, GetDownloadUrlRequestSchema, MediaVariant } from "@messenger/proto/media/v1/media_service";
import { AccountsService, LoginRequestSchema, LookupUserRequestSchema, RegisterRequestSchema } from "@messenger/proto/accounts/v1/accounts_service";
import { SendContactRequestRequestSchema } from "@messenger/proto/accounts/v1/contacts_service";
import { SessionRequestSchema } from "@messenger/proto/gateway/v1/gateway_service";
import { CreateGroupRequestSchema } from "@messenger/proto/groups/v1/group_service";
import { ListConversationsRequestSchema, ListMessagesRequestSchema, OpenDirectConversationRequestSchema } from "@messenger/proto/history/v1/history_service";
import { GetPresenceRequestSchema } from "@messenger/proto/presence/v1/presence_service";
import fc from "fast-check";

/** One valid request a fuzz case starts from, before its bytes are mutated. */
interface Seed {
  readonly path: string;
  /** Valid frames sent before the mutated one (a Session's hello). */
  readonly before: readonly Uint8Array[];
  readonly message: Uint8Array;
  readonly authorized: boolean;
}

/** A change to a message's bytes or to the gRPC frame around it. */
export type Mutation =
  | { readonly kind: "flip"; readonly at: number; readonly bit: number }
  | { readonly kind: "truncate"; readonly at: number }
  | { readonly kind: "insert"; readonly at: number; readonly bytes: Uint8Array }
  | { readonly kind: "overwrite"; readonly at: number; readonly bytes: Uint8Array }
  | { readonly kind: "random"; readonly bytes: Uint8Array };

/** How the length-prefixed gRPC frame around the message is written. */
export type Framing = "exact" | "length-too-long" | "length-huge" | "compressed-flag" | "cut-prefix" | "two-frames";

/** One fuzz input: which port, which seed, what was changed. */
export interface FuzzCase {
  readonly port: "grpc" | "http";
  readonly seed: number;
  readonly mutations: readonly Mutation[];
  readonly framing: Framing;
}

/** What the server answered one case with. */
export type Outcome = { readonly kind: "status"; readonly code: number; readonly message: string } | { readonly kind: "no-status"; readonly detail: string };

/** The running server under test. */
export interface FuzzTarget {
  readonly grpcPort: number;
  readonly httpPort: number;
  /** True while the server process is alive. */
  alive(): boolean;
}

/** What a fuzz run reports. */
export interface FuzzReport {
  readonly tried: number;
  readonly byCode: ReadonlyMap<number, number>;
  readonly withoutStatus: number;
  readonly crashes: number;
  readonly failure?: string;
}

function frame(message: Uint8Array, framing: Framing = "exact"): Uint8Array {
  const out = new Uint8Array(5 + message.length);
  const view = new DataView(out.buffer);
  view.setUint32(1, message.length);
  out.set(message, 5);
  switch (framing) {
    case "length-too-long":
      view.setUint32(1, message.length + 17);
      return out;
    case "length-huge":
      view.setUint32(1, 0xffffffff);
      return out;
    case "compressed-flag":
      out[0] = 1;
      return out;
    case "cut-prefix":
      return out.subarray(0, Math.min(3, out.length));
    case "two-frames":
      return new Uint8Array([...out, ...out]);
    default:
      return out;
  }
}

export function mutate(bytes: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let b = Uint8Array.from(bytes);
  for (const m of mutations) {
    const at = b.length === 0 ? 0 : ("at" in m ? m.at % (b.length + 1) : 0);
    switch (m.kind) {
      case "flip":
        if (b.length > 0) b[at % b.length]! ^= 1 << m.bit;
        break;
      case "truncate":
        b = b.subarray(0, at);
        break;
      case "insert":
        b = new Uint8Array([...b.subarray(0, at), ...m.bytes, ...b.subarray(at)]);
        break;
      case "overwrite":
        b = new Uint8Array([...b.subarray(0, at), ...m.bytes, ...b.subarray(at + m.bytes.length)]);
        break;
      case "random":
        b = Uint8Array.from(m.bytes);
        break;
    }
  }
  return b;
}

const bin = <D extends DescMessage>(schema: D, init: MessageInitShape<D>): Uint8Array => toBinary(schema, create(schema, init));

/** Registers a user on the target and builds the valid requests the cases mutate. */
export async function fuzzSeeds(target: FuzzTarget, username: string): Promise<{ seeds: Seed[]; token: string }> {
  const accounts = createClient(AccountsService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${target.grpcPort}` }));
  const password = `${username} password`;
  await accounts.register({ username, password });
  const login = await accounts.login({ username, password, deviceId: "fuzz" });
  const token = login.tokens!.accessToken;
  const hello = bin(SessionRequestSchema, { frame: { case: "hello", value: { accessToken: token } } });
  const session = (init: MessageInitShape<typeof SessionRequestSchema>): Seed => ({
    path: "/messenger.gateway.v1.GatewayService/Session",
    before: [hello],
    message: bin(SessionRequestSchema, init),
    authorized: false,
  });
  const unary = (path: string, message: Uint8Array, authorized = true): Seed => ({ path, before: [], message, authorized });
  const seeds: Seed[] = [
    { ...session({ frame: { case: "hello", value: { accessToken: token } } }), before: [] },
    session({ frame: { case: "send", value: { clientMessageId: "m1", conversationId: "c1", body: { case: "text", value: "hello there" } } } }),
    session({ frame: { case: "ack", value: { conversationId: "c1", seq: 3n } } }),
    session({ frame: { case: "read", value: { conversationId: "c1", seq: 2n } } }),
    session({ frame: { case: "typing", value: { conversationId: "c1", typing: true } } }),
    session({ frame: { case: "ping", value: { nonce: 7n } } }),
    unary("/messenger.accounts.v1.AccountsService/Register", bin(RegisterRequestSchema, { username: "someone", password: "a long password" }), false),
    unary("/messenger.accounts.v1.AccountsService/Login", bin(LoginRequestSchema, { username, password, deviceId: "d2" }), false),
    unary("/messenger.accounts.v1.AccountsService/LookupUser", bin(LookupUserRequestSchema, { username })),
    unary("/messenger.accounts.v1.ContactsService/SendContactRequest", bin(SendContactRequestRequestSchema, { userId: "u-someone" })),
    unary("/messenger.history.v1.HistoryService/ListConversations", bin(ListConversationsRequestSchema, { pageSize: 20 })),
    unary("/messenger.history.v1.HistoryService/ListMessages", bin(ListMessagesRequestSchema, { conversationId: "c1", pageSize: 50 })),
    unary("/messenger.history.v1.HistoryService/OpenDirectConversation", bin(OpenDirectConversationRequestSchema, { peerUserId: "u-someone" })),
    unary("/messenger.groups.v1.GroupService/CreateGroup", bin(CreateGroupRequestSchema, { title: "fuzz", memberUserIds: ["u-someone"] })),
    unary("/messenger.presence.v1.PresenceService/GetPresence", bin(GetPresenceRequestSchema, { userIds: ["u1"] })),
    unary(
      "/messenger.media.v1.MediaService/CreateUpload",
      bin(CreateUploadRequestSchema, { conversationId: "c1", fileName: "a.png", mimeType: "image/png", sizeBytes: 1000n, sha256: new Uint8Array(32) }),
    ),
    unary("/messenger.media.v1.MediaService/CompleteUpload", bin(CompleteUploadRequestSchema, { mediaId: "m_0" })),
    unary("/messenger.media.v1.MediaService/GetDownloadUrl", bin(GetDownloadUrlRequestSchema, { mediaId: "m_0", variant: MediaVariant.THUMBNAIL })),
  ];
  return { seeds, token };
}

/** Sends one case over a raw HTTP/2 stream and reads how it ended. */
export function sendCase(session: http2.ClientHttp2Session, seed: Seed, token: string, c: FuzzCase, timeoutMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const headers: http2.OutgoingHttpHeaders = { ":method": "POST", ":path": seed.path, "content-type": "application/grpc", te: "trailers" };
    if (seed.authorized || seed.before.length > 0) headers.authorization = `Bearer ${token}`;
    const stream = session.request(headers);
    let status: number | undefined;
    let message = "";
    const read = (h: http2.IncomingHttpHeaders): void => {
      const s = h["grpc-status"];
      if (typeof s === "string") status = Number(s);
      const m = h["grpc-message"];
      if (typeof m === "string") message = decodeURIComponent(m);
    };
    const timer = setTimeout(() => {
      stream.close(http2.constants.NGHTTP2_CANCEL);
      resolve({ kind: "no-status", detail: `no answer in ${timeoutMs} ms` });
    }, timeoutMs);
    stream.on("response", read);
    stream.on("trailers", read);
    stream.on("data", () => undefined);
    stream.on("error", () => undefined);
    stream.on("close", () => {
      clearTimeout(timer);
      if (status !== undefined) resolve({ kind: "status", code: status, message });
      else resolve({ kind: "no-status", detail: `stream closed with HTTP/2 code ${stream.rstCode}` });
    });
    for (const b of seed.before) stream.write(frame(b));
    stream.end(frame(mutate(seed.message, c.mutations), c.framing));
  });
}

const bytes = (max: number) => fc.uint8Array({ minLength: 1, maxLength: max });

/** The fast-check arbitrary of cases: mostly small mutations of valid requests, some noise. */
export function fuzzCaseArbitrary(seeds: number): fc.Arbitrary<FuzzCase> {
  const mutation: fc.Arbitrary<Mutation> = fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant("flip" as const), at: fc.nat(512), bit: fc.integer({ min: 0, max: 7 }) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("truncate" as const), at: fc.nat(512) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("insert" as const), at: fc.nat(512), bytes: bytes(16) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("overwrite" as const), at: fc.nat(512), bytes: bytes(8) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("random" as const), bytes: bytes(256) }) },
  );
  return fc.record({
    port: fc.constantFrom("grpc" as const, "http" as const),
    seed: fc.nat(seeds - 1),
    mutations: fc.array(mutation, { minLength: 0, maxLength: 4 }),
    framing: fc.oneof(
      { weight: 12, arbitrary: fc.constant("exact" as const) },
      { weight: 1, arbitrary: fc.constantFrom("length-too-long" as const, "length-huge" as const, "compressed-flag" as const, "cut-prefix" as const, "two-frames" as const) },
    ),
  });
}

/**
 * Runs `runs` cases against the target. The property: every case ends with a gRPC status
 * (any code) and the server stays up. fast-check shrinks a failing case to a small one.
 */
export async function runFrameFuzz(target: FuzzTarget, opts: { runs: number; seed?: number; timeoutMs?: number; username: string }): Promise<FuzzReport> {
  const { seeds, token } = await fuzzSeeds(target, opts.username);
  const sessions = new Map<FuzzCase["port"], http2.ClientHttp2Session>();
  const sessionFor = (port: FuzzCase["port"]): http2.ClientHttp2Session => {
    const existing = sessions.get(port);
    if (existing && !existing.closed && !existing.destroyed) return existing;
    const s = http2.connect(`http://127.0.0.1:${port === "grpc" ? target.grpcPort : target.httpPort}`);
    s.on("error", () => undefined);
    sessions.set(port, s);
    return s;
  };
  const byCode = new Map<number, number>();
  let tried = 0;
  let withoutStatus = 0;
  let crashes = 0;
  let failure: string | undefined;
  try {
    await fc.assert(
      fc.asyncProperty(fuzzCaseArbitrary(seeds.length), async (c) => {
        tried++;
        const outcome = await sendCase(sessionFor(c.port), seeds[c.seed]!, token, c, opts.timeoutMs ?? 5_000);
        if (!target.alive()) {
          crashes++;
          return false;
        }
        if (outcome.kind === "no-status") {
          withoutStatus++;
          return false;
        }
        byCode.set(outcome.code, (byCode.get(outcome.code) ?? 0) + 1);
        return true;
      }),
      { numRuns: opts.runs, seed: opts.seed },
    );
  } catch (err) {
    failure = err instanceof Error ? err.message : String(err);
  } finally {
    for (const s of sessions.values()) s.destroy();
  }
  return { tried, byCode, withoutStatus, crashes, failure };
}
