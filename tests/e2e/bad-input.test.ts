import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { createTokenIssuer } from "@messenger/auth";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { createWritableIterable } from "@connectrpc/connect/protocol";
import { AccountsService } from "@messenger/proto/accounts/v1/accounts_service";
import { GatewayService, type SessionRequestSchema } from "@messenger/proto/gateway/v1/gateway_service";
import type { MessengerClient } from "@messenger/sdk";
import { eventually, spawnSystem } from "@messenger/testing";
import { newUser, startTestSystem, type TestSystem } from "@messenger/test-system";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { openRawSession, type RawSession } from "../support/raw-session.js";
import { textOf } from "../support/api-user.js";

let sys: TestSystem;
const clients: MessengerClient[] = [];
const raws: RawSession[] = [];
beforeAll(async () => {
  sys = await startTestSystem({ MAX_FRAME_BYTES: String(64 * 1024), OUTBOUND_QUEUE_LIMIT: "16" });
});
afterEach(async () => {
  for (const r of raws.splice(0)) r.close();
  await Promise.all(clients.splice(0).map((c) => c.close()));
});
afterAll(async () => {
  await sys.dispose();
});

async function user(deviceId = "phone"): Promise<MessengerClient> {
  const c = await newUser(sys.grpcUrl, { deviceId });
  clients.push(c);
  return c;
}

async function tokenFor(username: string, deviceId = "raw"): Promise<string> {
  const accounts = createClient(AccountsService, createGrpcTransport({ baseUrl: sys.grpcUrl }));
  const res = await accounts.login({ username, password: "correct horse battery", deviceId });
  return res.tokens!.accessToken;
}

function raw(): RawSession {
  const r = openRawSession(sys.grpcPort);
  raws.push(r);
  return r;
}

/** Proves the server still serves everyone: a fresh pair chats. */
async function stillServing(): Promise<void> {
  const a = await user();
  const b = await user();
  await Promise.all([a.connect(), b.connect()]);
  const conv = await a.openDirect(b.user!.id);
  const got: string[] = [];
  b.on("message", (m) => got.push(textOf(m)));
  await a.send(conv.id, "still here");
  await eventually(() => got.includes("still here"), "a message after the bad input");
}

describe("bad input on the session stream", () => {
  it("ends a stream whose frame is not a valid protobuf with INVALID_ARGUMENT", async () => {
    const r = raw();
    r.sendBytes(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]));
    const status = await r.status;
    expect(status.code).toBe(grpc.status.INVALID_ARGUMENT);
    await stillServing();
  });

  it("refuses a stream that does not start with a hello", async () => {
    const r = raw();
    r.send({ frame: { case: "ping", value: { nonce: 1n } } });
    expect((await r.status).code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  it("refuses a missing, forged or tampered token with UNAUTHENTICATED", async () => {
    const alice = await user();
    const missing = raw();
    missing.send({ frame: { case: "hello", value: {} } });
    expect((await missing.status).code).toBe(grpc.status.UNAUTHENTICATED);

    const dir = mkdtempSync(join(tmpdir(), "forger-"));
    const forger = await createTokenIssuer({ keyPath: join(dir, "k.json"), ttlSeconds: 600 });
    const forged = (await forger.issue({ userId: alice.user!.id, deviceId: "phone" })).token;
    rmSync(dir, { recursive: true, force: true });
    const f = raw();
    f.send({ frame: { case: "hello", value: { accessToken: forged } } });
    const fs = await f.status;
    expect(fs.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(fs.details).toMatch(/invalid access token/);

    const real = await tokenFor(alice.user!.username);
    const [h, p, s] = real.split(".");
    const claims = JSON.parse(Buffer.from(p!, "base64url").toString()) as Record<string, unknown>;
    const tampered = [h, Buffer.from(JSON.stringify({ ...claims, sub: "u_someone_else" })).toString("base64url"), s].join(".");
    const t = raw();
    t.send({ frame: { case: "hello", value: { accessToken: tampered } } });
    expect((await t.status).code).toBe(grpc.status.UNAUTHENTICATED);
    await stillServing();
  });

  it("ends a stream whose frame exceeds the size limit with RESOURCE_EXHAUSTED", async () => {
    const alice = await user();
    const r = raw();
    r.send({ frame: { case: "hello", value: { accessToken: await tokenFor(alice.user!.username) } } });
    await r.next((f) => f.frame.case === "syncComplete");
    r.send({ frame: { case: "send", value: { clientMessageId: "big", conversationId: "x", body: { case: "text", value: "x".repeat(200 * 1024) } } } });
    expect((await r.status).code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    await stillServing();
  });

  it("refuses a send into a conversation the user is not in, and to unknown ids, keeping the stream", async () => {
    const alice = await user();
    const bob = await user();
    const carol = await user();
    const conv = await alice.openDirect(bob.user!.id);
    await carol.connect();
    await expect(carol.send(conv.id, "let me in")).rejects.toMatchObject({ code: Code.PermissionDenied });
    await expect(carol.send("dm_does_not_exist", "hello?")).rejects.toMatchObject({ code: Code.NotFound });
    await expect(carol.send(conv.id, "")).rejects.toMatchObject({ code: Code.InvalidArgument });
    expect(carol.isConnected).toBe(true);
    await expect(carol.listMessages(conv.id)).rejects.toMatchObject({ code: Code.PermissionDenied });
    await expect(carol.listMessages("dm_does_not_exist")).rejects.toMatchObject({ code: Code.NotFound });
    await expect(carol.openDirect("u_nobody")).rejects.toMatchObject({ code: Code.NotFound });
    await expect(carol.lookupUser("nobody-at-all")).rejects.toMatchObject({ code: Code.NotFound });
    const page = await alice.listMessages(conv.id);
    expect(page.messages).toHaveLength(0);
  });

  it("answers a bad ack, read or typing frame with a frame error and keeps the session", async () => {
    const alice = await user();
    const bob = await user();
    const conv = await alice.openDirect(bob.user!.id);
    await alice.connect();
    const errors: { code: number; frame: string }[] = [];
    alice.on("frameError", (e) => errors.push({ code: e.code, frame: e.frame }));
    alice.markRead(conv.id, 99n);
    alice.setTyping("dm_unknown", true);
    await eventually(() => errors.length === 2, "two frame errors");
    expect(errors).toContainEqual({ code: Code.OutOfRange, frame: "read" });
    expect(errors).toContainEqual({ code: Code.NotFound, frame: "typing" });
    const m = await alice.send(conv.id, "still fine");
    expect(m.seq).toBe(1n);
  });

  it("rejects unauthenticated and expired-token unary calls", async () => {
    const accounts = createClient(AccountsService, createGrpcTransport({ baseUrl: sys.grpcUrl }));
    await expect(accounts.lookupUser({ username: "anyone" })).rejects.toMatchObject({ code: Code.Unauthenticated });
    await expect(accounts.lookupUser({ username: "anyone" }, { headers: { authorization: "Bearer not.a.jwt" } })).rejects.toMatchObject({
      code: Code.Unauthenticated,
    });
    await expect(accounts.login({ username: "nobody", password: "whatever12", deviceId: "d" })).rejects.toMatchObject({ code: Code.Unauthenticated });
    await expect(accounts.register({ username: "A!", password: "short", displayName: "" })).rejects.toMatchObject({ code: Code.InvalidArgument });
  });

  it("a client that vanishes mid-send loses nothing: the resend with the same id yields one message", async () => {
    const alice = await user();
    const bob = await user();
    const conv = await alice.openDirect(bob.user!.id);
    const r = raw();
    r.send({ frame: { case: "hello", value: { accessToken: await tokenFor(alice.user!.username, "phone") } } });
    await r.next((f) => f.frame.case === "syncComplete");
    r.send({ frame: { case: "send", value: { clientMessageId: "vanish-1", conversationId: conv.id, body: { case: "text", value: "mid-send" } } } });
    r.close();
    await alice.connect();
    const m = await alice.send(conv.id, "mid-send", "vanish-1");
    expect(m.seq).toBe(1n);
    const page = await bob.listMessages(conv.id);
    expect(page.messages.map((x) => textOf(x))).toEqual(["mid-send"]);
    await stillServing();
  });
});

describe("expired tokens", () => {
  it("refuses a stream with an expired access token, and refresh issues a working one", async () => {
    const short = await startTestSystem({ ACCESS_TOKEN_TTL_SECONDS: "1" });
    try {
      const alice = await newUser(short.grpcUrl);
      const token = await (async () => {
        const accounts = createClient(AccountsService, createGrpcTransport({ baseUrl: short.grpcUrl }));
        return (await accounts.login({ username: alice.user!.username, password: "correct horse battery", deviceId: "raw" })).tokens!;
      })();
      await new Promise((r) => setTimeout(r, 2100));
      const r = openRawSession(short.grpcPort);
      r.send({ frame: { case: "hello", value: { accessToken: token.accessToken } } });
      const st = await r.status;
      r.close();
      expect(st.code).toBe(grpc.status.UNAUTHENTICATED);
      expect(st.details).toMatch(/expired/);
      // The SDK refreshes on its own and connects.
      const synced = await alice.connect();
      expect(synced.syncVersion).toBeGreaterThanOrEqual(0n);
      const accounts = createClient(AccountsService, createGrpcTransport({ baseUrl: short.grpcUrl }));
      await expect(accounts.refresh({ refreshToken: token.refreshToken })).resolves.toBeDefined();
      await expect(accounts.refresh({ refreshToken: token.refreshToken })).rejects.toBeInstanceOf(ConnectError);
      await alice.close();
    } finally {
      await short.dispose();
    }
  });
});

describe("slow consumers", () => {
  // The server runs in its own process here: with a paused HTTP/2 client in the same process
  // as the server, Node stops moving that stream's data even after the client resumes.
  it("cuts a client that stops reading with RESOURCE_EXHAUSTED; it resumes later without loss", async () => {
    const proc = await spawnSystem({ OUTBOUND_QUEUE_LIMIT: "16" });
    try {
      const slow = await newUser(proc.grpcUrl);
      const fast = await newUser(proc.grpcUrl);
      const conv = await fast.openDirect(slow.user!.id);
      await fast.connect();
      const accounts = createClient(AccountsService, createGrpcTransport({ baseUrl: proc.grpcUrl }));
      const token = (await accounts.login({ username: slow.user!.username, password: "correct horse battery", deviceId: "phone" })).tokens!.accessToken;
      // A client that stops pulling from its stream: nothing is read while the sends pile up.
      const requests = createWritableIterable<MessageInitShape<typeof SessionRequestSchema>>();
      void requests.write({ frame: { case: "hello", value: { accessToken: token } } });
      const stream = createClient(GatewayService, createGrpcTransport({ baseUrl: proc.grpcUrl })).session(requests)[Symbol.asyncIterator]();
      for (let r = await stream.next(); !r.done && r.value.frame.case !== "syncComplete"; r = await stream.next());
      const big = "y".repeat(4096);
      for (let i = 0; i < 200; i++) await fast.send(conv.id, `${i} ${big}`);
      let got = 0;
      const error = await (async () => {
        try {
          for (let r = await stream.next(); !r.done; r = await stream.next()) if (r.value.frame.case === "message") got++;
          return undefined;
        } catch (err) {
          return ConnectError.from(err);
        }
      })();
      requests.close();
      expect(error?.code).toBe(Code.ResourceExhausted);
      expect(error?.rawMessage).toMatch(/too slow/);
      expect(got).toBeLessThan(200);
      const replayed: number[] = [];
      slow.on("message", (m) => replayed.push(Number(m.seq)));
      await slow.connect();
      await eventually(() => replayed.length === 200, "the slow device gets all 200 on resume");
      expect(replayed).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
      await Promise.all([slow.close(), fast.close()]);
    } finally {
      await proc.stop();
    }
  });
});
