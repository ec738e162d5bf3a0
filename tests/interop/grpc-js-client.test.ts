/**
 * Interop: a plain @grpc/grpc-js client talks to the public gRPC port next to an SDK user,
 * with its messages built at run time by @grpc/proto-loader from the file descriptors the
 * server hands out through server reflection: neither our .proto files nor our generated
 * TypeScript. Also checks the standard health and reflection services.
 */
import { join } from "node:path";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, FileDescriptorSetSchema, type FileDescriptorProto } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { loadFileDescriptorSetFromBuffer, loadSync, type Options } from "@grpc/proto-loader";
import type { Message } from "@messenger/proto/chat/v1/types";
import { protoRoot } from "@messenger/proto";
import type { MessengerClient } from "@messenger/sdk";
import { eventually } from "@messenger/testing";
import { newUser, startTestSystem, type TestSystem } from "@messenger/test-system";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { textOf } from "../support/api-user.js";

// ---- The frames this test uses, as proto-loader decodes them (keepCase, longs as String,
// ---- enums as String, defaults, oneofs). Only the fields the test reads are listed.

interface WireTimestamp {
  seconds: string;
  nanos: number;
}

interface WireUser {
  id: string;
  username: string;
  display_name: string;
}

interface WireTokens {
  access_token: string;
  refresh_token: string;
  access_token_expires_at: WireTimestamp | null;
}

interface WireMessage {
  id: string;
  conversation_id: string;
  seq: string;
  sender_user_id: string;
  sender_device_id: string;
  client_message_id: string;
  text: string;
  sent_at: WireTimestamp | null;
}

interface RegisterRequest {
  username: string;
  password: string;
  display_name?: string;
}
interface RegisterResponse {
  user: WireUser | null;
}
interface LoginRequest {
  username: string;
  password: string;
  device_id: string;
}
interface LoginResponse {
  user: WireUser | null;
  tokens: WireTokens | null;
}

/** One client frame: exactly one of the oneof members is set. */
interface SessionRequestFrame {
  hello?: { access_token: string; resume?: { sync_version: string; cursors: { conversation_id: string; seq: string }[] } };
  send?: { client_message_id: string; conversation_id: string; text: string };
  ack?: { conversation_id: string; seq: string };
  ping?: { nonce: string };
}

/** One server frame; `frame` names the oneof member that is set. */
interface SessionResponseFrame {
  frame?: string;
  welcome?: { session_id: string; user_id: string; device_id: string; heartbeat_interval_ms: number; server_time: WireTimestamp | null };
  send_result?: { client_message_id: string; message: WireMessage | null; duplicate: boolean; error_code: number; error_message: string };
  message?: WireMessage;
  sync_complete?: { sync_version: string; replayed_messages: number };
  pong?: { nonce: string; server_time: WireTimestamp | null };
  error?: { code: number; message: string; frame: string };
}

interface HealthCheckResponse {
  status: string;
}

interface ReflectionRequest {
  host?: string;
  list_services?: string;
  file_containing_symbol?: string;
}
interface ReflectionResponse {
  message_response?: string;
  original_request?: ReflectionRequest;
  list_services_response?: { service: { name: string }[] };
  file_descriptor_response?: { file_descriptor_proto: Buffer[] };
  error_response?: { error_code: number; error_message: string };
}

type Callback<T> = (err: grpc.ServiceError | null, res?: T) => void;

interface AccountsClient extends grpc.Client {
  Register(req: RegisterRequest, cb: Callback<RegisterResponse>): grpc.ClientUnaryCall;
  Login(req: LoginRequest, cb: Callback<LoginResponse>): grpc.ClientUnaryCall;
}
interface GatewayClient extends grpc.Client {
  Session(): grpc.ClientDuplexStream<SessionRequestFrame, SessionResponseFrame>;
}
interface HealthClient extends grpc.Client {
  Check(req: { service: string }, cb: Callback<HealthCheckResponse>): grpc.ClientUnaryCall;
}
interface ReflectionClient extends grpc.Client {
  ServerReflectionInfo(): grpc.ClientDuplexStream<ReflectionRequest, ReflectionResponse>;
}

// ---- Loading the protos and making clients -------------------------------------------

const loaderOptions: Options = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };
/** The one schema a reflection client must bring: the standard reflection service's own. */
const reflectionProto = join(protoRoot, "grpc/reflection/v1/reflection.proto");

/** Finds a service's client constructor by its fully qualified name in a loaded package. */
function serviceConstructor(root: grpc.GrpcObject, fqn: string): grpc.ServiceClientConstructor {
  let node: grpc.GrpcObject | grpc.ServiceClientConstructor | grpc.ProtobufTypeDefinition | undefined = root;
  for (const part of fqn.split(".")) {
    if (node === undefined || typeof node === "function" || "format" in node) break;
    node = (node as grpc.GrpcObject)[part];
  }
  if (typeof node !== "function" || !("service" in node)) throw new Error(`service ${fqn} not found in the loaded protos`);
  return node;
}

const openClients: grpc.Client[] = [];
function makeClient<C extends grpc.Client>(root: grpc.GrpcObject, fqn: string, address: string): C {
  const Ctor = serviceConstructor(root, fqn);
  const client = new Ctor(address, grpc.credentials.createInsecure(), { "grpc.enable_http_proxy": 0 });
  openClients.push(client);
  return client as unknown as C;
}

function unary<Req, Res>(fn: (req: Req, cb: Callback<Res>) => grpc.ClientUnaryCall, req: Req): Promise<Res> {
  return new Promise((resolve, reject) => {
    fn(req, (err, res) => (err ? reject(err) : res === undefined ? reject(new Error("empty response")) : resolve(res)));
  });
}

/** Keeps every frame a duplex stream yields, and how the stream ended. */
class StreamRecorder<Res> {
  readonly frames: Res[] = [];
  error: grpc.ServiceError | undefined;
  ended = false;

  constructor(stream: grpc.ClientReadableStream<Res>) {
    stream.on("data", (f: Res) => this.frames.push(f));
    stream.on("error", (e: grpc.ServiceError) => (this.error = e));
    stream.on("end", () => (this.ended = true));
  }

  /** Resolves with the first frame (ever received) matching `pred`; fails fast if the stream broke. */
  async waitFor(pred: (f: Res) => boolean, what: string, timeoutMs = 10_000): Promise<Res> {
    let found: Res | undefined;
    await eventually(() => {
      found = this.frames.find(pred);
      if (found !== undefined) return true;
      if (this.error) throw new Error(`stream failed while waiting for ${what}: ${this.error.code} ${this.error.details}`);
      if (this.ended) throw new Error(`stream ended while waiting for ${what}`);
      return false;
    }, what, timeoutMs);
    return found!;
  }
}

const publicServices = [
  "messenger.accounts.v1.AccountsService",
  "messenger.accounts.v1.ContactsService",
  "messenger.accounts.v1.NotificationsService",
  "messenger.gateway.v1.GatewayService",
  "messenger.history.v1.HistoryService",
  "messenger.presence.v1.PresenceService",
];
const internalServices = [
  "messenger.store.v1.StoreService",
  "messenger.router.v1.RouterService",
  "messenger.presence.v1.SessionService",
  "messenger.presence.v1.PresenceAudienceService",
  "messenger.accounts.v1.RelationsService",
  "messenger.accounts.v1.DevicesService",
  "messenger.accounts.v1.PushTargetsService",
];

/** Sends reflection requests on one grpc.reflection.v1 stream and returns the answers in order. */
async function reflect(requests: ReflectionRequest[]): Promise<ReflectionResponse[]> {
  const reflection = makeClient<ReflectionClient>(grpc.loadPackageDefinition(loadSync(reflectionProto, loaderOptions)), "grpc.reflection.v1.ServerReflection", address);
  const call = reflection.ServerReflectionInfo();
  const rec = new StreamRecorder<ReflectionResponse>(call);
  for (const r of requests) call.write({ host: "", ...r });
  call.end();
  await eventually(() => {
    if (rec.error) throw new Error(`reflection stream failed: ${rec.error.code} ${rec.error.details}`);
    return rec.ended;
  }, "the reflection stream to end");
  expect(rec.frames).toHaveLength(requests.length);
  return rec.frames;
}

async function listServicesByReflection(): Promise<string[]> {
  const [res] = await reflect([{ list_services: "*" }]);
  if (res?.message_response !== "list_services_response") throw new Error(`expected list_services_response, got ${JSON.stringify(res)}`);
  return res.list_services_response!.service.map((s) => s.name);
}

/**
 * What a reflection-driven tool does: asks for the file of every listed service, gathers
 * the files and their imports from the answers, and loads the set with proto-loader.
 */
async function loadByReflection(): Promise<grpc.GrpcObject> {
  const services = await listServicesByReflection();
  const answers = await reflect(services.map((s) => ({ file_containing_symbol: s })));
  const files = new Map<string, FileDescriptorProto>();
  for (const a of answers) {
    if (a.message_response !== "file_descriptor_response") throw new Error(`reflection could not describe ${a.original_request?.file_containing_symbol}: ${JSON.stringify(a.error_response)}`);
    for (const bytes of a.file_descriptor_response!.file_descriptor_proto) {
      const file = fromBinary(FileDescriptorProtoSchema, bytes);
      files.set(file.name, file);
    }
  }
  const set = create(FileDescriptorSetSchema, { file: [...files.values()] });
  return grpc.loadPackageDefinition(loadFileDescriptorSetFromBuffer(Buffer.from(toBinary(FileDescriptorSetSchema, set)), loaderOptions));
}

// ---- The tests ----------------------------------------------------------------------

let sys: TestSystem;
let address: string;
let api: grpc.GrpcObject;
let sdk: MessengerClient | undefined;
let session: grpc.ClientDuplexStream<SessionRequestFrame, SessionResponseFrame> | undefined;
const sdkGot: Message[] = [];

beforeAll(async () => {
  sys = await startTestSystem();
  address = `127.0.0.1:${sys.grpcPort}`;
  api = await loadByReflection();
});

afterAll(async () => {
  session?.end();
  session?.cancel();
  for (const c of openClients.splice(0)) c.close();
  await sdk?.close();
  await sys?.dispose();
});

describe("a raw @grpc/grpc-js client built from server reflection", () => {
  const username = `grpcjs_${process.pid}_${Date.now().toString(36)}`;
  const password = "grpc-js interop password";
  const deviceId = "grpcjs-device";
  let me: WireUser;
  let accessToken: string;
  let conversationId: string;
  let recorder: StreamRecorder<SessionResponseFrame>;

  it("registers and logs in through AccountsService", async () => {
    const accounts = makeClient<AccountsClient>(api, "messenger.accounts.v1.AccountsService", address);
    const reg = await unary(accounts.Register.bind(accounts), { username, password });
    expect(reg.user?.username).toBe(username);
    expect(reg.user?.id).toBeTruthy();
    const login = await unary(accounts.Login.bind(accounts), { username, password, device_id: deviceId });
    expect(login.user?.id).toBe(reg.user!.id);
    expect(login.tokens?.access_token).toBeTruthy();
    expect(login.tokens?.refresh_token).toBeTruthy();
    expect(Number(login.tokens?.access_token_expires_at?.seconds)).toBeGreaterThan(Date.now() / 1000);
    me = login.user!;
    accessToken = login.tokens!.access_token;
  });

  it("opens the Session stream: hello, then welcome and sync_complete", async () => {
    const gateway = makeClient<GatewayClient>(api, "messenger.gateway.v1.GatewayService", address);
    session = gateway.Session();
    recorder = new StreamRecorder<SessionResponseFrame>(session);
    session.write({ hello: { access_token: accessToken } });
    const welcome = await recorder.waitFor((f) => f.frame === "welcome", "welcome");
    expect(welcome.welcome?.user_id).toBe(me.id);
    expect(welcome.welcome?.device_id).toBe(deviceId);
    expect(welcome.welcome?.session_id).toBeTruthy();
    expect(welcome.welcome?.heartbeat_interval_ms).toBeGreaterThan(0);
    expect(Number(welcome.welcome?.server_time?.seconds)).toBeGreaterThan(0);
    const sync = await recorder.waitFor((f) => f.frame === "sync_complete", "sync_complete");
    expect(sync.sync_complete?.replayed_messages).toBe(0);
    expect(recorder.frames.indexOf(welcome)).toBeLessThan(recorder.frames.indexOf(sync));
  });

  it("answers a ping with a pong carrying the uint64 nonce", async () => {
    session!.write({ ping: { nonce: "18446744073709551615" } });
    const pong = await recorder.waitFor((f) => f.frame === "pong", "pong");
    expect(pong.pong?.nonce).toBe("18446744073709551615");
  });

  it("receives on the stream a message the SDK user sends", async () => {
    sdk = await newUser(sys.grpcUrl);
    sdk.on("message", (m) => sdkGot.push(m));
    await sdk.connect();
    const conv = await sdk.openDirect(me.id);
    conversationId = conv.id;
    expect(conv.memberUserIds).toContain(me.id);
    const sent = await sdk.send(conversationId, "hello from the SDK");
    expect(sent.seq).toBe(1n);
    const got = await recorder.waitFor((f) => f.frame === "message" && f.message?.text === "hello from the SDK", "the SDK user's message");
    expect(got.message).toMatchObject({
      id: sent.id,
      conversation_id: conversationId,
      seq: "1",
      sender_user_id: sdk.user!.id,
      text: "hello from the SDK",
    });
    expect(Number(got.message?.sent_at?.seconds)).toBeGreaterThan(0);
  });

  it("an ack frame moves the delivered receipt the SDK user sees", async () => {
    session!.write({ ack: { conversation_id: conversationId, seq: "1" } });
    await eventually(() => sdk!.receiptsOf(conversationId).get(me.id)?.deliveredSeq === 1n, "delivered receipt from the grpc-js client");
    expect(sdk!.receiptsOf(conversationId).get(me.id)?.readSeq).toBe(0n);
    expect(recorder.frames.filter((f) => f.frame === "error")).toEqual([]);
    expect(recorder.error).toBeUndefined();
  });

  it("sends a message with a send frame: send_result with the next seq, and the SDK user gets it", async () => {
    session!.write({ send: { client_message_id: "grpcjs-1", conversation_id: conversationId, text: "hello from grpc-js" } });
    const res = await recorder.waitFor((f) => f.frame === "send_result" && f.send_result?.client_message_id === "grpcjs-1", "send_result");
    expect(res.send_result).toMatchObject({ client_message_id: "grpcjs-1", error_code: 0, error_message: "", duplicate: false });
    expect(res.send_result?.message).toMatchObject({
      conversation_id: conversationId,
      seq: "2",
      sender_user_id: me.id,
      sender_device_id: deviceId,
      client_message_id: "grpcjs-1",
      text: "hello from grpc-js",
    });
    await eventually(() => sdkGot.some((m) => textOf(m) === "hello from grpc-js"), "the SDK user receives the grpc-js message");
    const inConv = sdkGot.filter((m) => m.conversationId === conversationId);
    expect(inConv.map((m) => [m.seq, textOf(m)])).toEqual([
      [1n, "hello from the SDK"],
      [2n, "hello from grpc-js"],
    ]);
    expect(inConv[1]?.senderUserId).toBe(me.id);
    expect(inConv[1]?.id).toBe(res.send_result?.message?.id);
  });

  it("a resend with the same client_message_id is answered as a duplicate with the same seq", async () => {
    session!.write({ send: { client_message_id: "grpcjs-1", conversation_id: conversationId, text: "hello from grpc-js" } });
    await recorder.waitFor((f) => f.frame === "send_result" && f.send_result?.duplicate === true, "the duplicate send_result");
    const results = recorder.frames.filter((f) => f.frame === "send_result");
    expect(results).toHaveLength(2);
    expect(results[1]?.send_result?.message?.seq).toBe("2");
    expect(results[1]?.send_result?.message?.id).toBe(results[0]?.send_result?.message?.id);
  });
});

describe("standard services on the public gRPC port", () => {
  it("grpc.health.v1.Health/Check says SERVING", async () => {
    const health = makeClient<HealthClient>(api, "grpc.health.v1.Health", address);
    const overall = await unary(health.Check.bind(health), { service: "" });
    expect(overall.status).toBe("SERVING");
    const gateway = await unary(health.Check.bind(health), { service: "messenger.gateway.v1.GatewayService" });
    expect(gateway.status).toBe("SERVING");
    const internal = await unary(health.Check.bind(health), { service: "messenger.store.v1.StoreService" }).then(
      () => undefined,
      (e: grpc.ServiceError) => e,
    );
    expect(internal?.code).toBe(grpc.status.NOT_FOUND);
  });

  it("server reflection lists the public services", async () => {
    const names = await listServicesByReflection();
    expect(names).toEqual(expect.arrayContaining(publicServices));
  });

  it("server reflection does not list the internal services, which are not mounted on the public port", async () => {
    const names = await listServicesByReflection();
    const advertised = internalServices.filter((n) => names.includes(n));
    expect(advertised, `internal services advertised by reflection on the public port (full list: ${names.join(", ")})`).toEqual([]);
  });

  it("server reflection describes no internal service: NOT_FOUND in the stream, which goes on", async () => {
    const [store, accounts] = await reflect([{ file_containing_symbol: "messenger.store.v1.StoreService" }, { file_containing_symbol: "messenger.accounts.v1.AccountsService" }]);
    expect(store?.message_response).toBe("error_response");
    expect(store?.error_response?.error_code).toBe(grpc.status.NOT_FOUND);
    expect(accounts?.message_response).toBe("file_descriptor_response");
  });

  it("internal services are not callable on the public port", async () => {
    // No schema for it is needed to see that it is not served: an empty request, raw bytes.
    const raw = new grpc.Client(address, grpc.credentials.createInsecure(), { "grpc.enable_http_proxy": 0 });
    openClients.push(raw);
    const err = await new Promise<grpc.ServiceError | undefined>((resolve) => {
      raw.makeUnaryRequest("/messenger.store.v1.StoreService/GetMemberRanges", (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), (e) => resolve(e ?? undefined));
    });
    expect(err?.code).toBe(grpc.status.UNIMPLEMENTED);
  });
});
