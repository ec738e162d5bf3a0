/**
 * Server reflection as real tools use it: the `buf curl` binary, given no proto files, lists
 * and calls the API of the one-process system through reflection alone, on the gRPC port
 * and on the Connect port (Connect over HTTP/1.1, and gRPC over cleartext HTTP/2).
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { fromBinary } from "@bufbuild/protobuf";
import { base64Decode } from "@bufbuild/protobuf/wire";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { startTestSystem, type TestSystem } from "@messenger/test-system";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const buf = fileURLToPath(new URL("../../node_modules/.bin/buf", import.meta.url));

interface BufCurlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `buf curl ARGS` (never a schema: reflection only) and returns how it ended. */
function bufCurl(args: string[]): Promise<BufCurlResult> {
  return new Promise((resolve) => {
    execFile(buf, ["curl", ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** The JSON `buf curl` printed for a successful call; fails with its stderr otherwise. */
async function call<T>(port: Port, path: string, body: unknown, extra: string[] = []): Promise<T> {
  const r = await bufCurl([...port.flags, ...extra, "-d", JSON.stringify(body), `${port.url()}/${path}`]);
  expect(r.code, `buf curl ${path} on the ${port.name}: ${r.stderr}`).toBe(0);
  return JSON.parse(r.stdout) as T;
}

interface Port {
  readonly name: string;
  readonly flags: readonly string[];
  url(): string;
}

let sys: TestSystem;
const ports: Port[] = [
  { name: "gRPC port", flags: ["--protocol", "grpc", "--http2-prior-knowledge"], url: () => sys.grpcUrl },
  { name: "Connect port (Connect over HTTP/1.1)", flags: [], url: () => sys.httpUrl },
  { name: "Connect port (gRPC over h2c)", flags: ["--protocol", "grpc", "--http2-prior-knowledge"], url: () => sys.httpUrl },
];

const publicServices = [
  "messenger.accounts.v1.AccountsService",
  "messenger.accounts.v1.ContactsService",
  "messenger.accounts.v1.NotificationsService",
  "messenger.conversations.v1.ConversationSettingsService",
  "messenger.gateway.v1.GatewayService",
  "messenger.groups.v1.GroupService",
  "messenger.history.v1.HistoryService",
  "messenger.media.v1.MediaService",
  "messenger.presence.v1.PresenceService",
  "messenger.push.v1.PushConfigService",
];
const standardServices = ["grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"];

beforeAll(async () => {
  sys = await startTestSystem();
});
afterAll(async () => {
  await sys?.dispose();
});

describe.each(ports)("buf curl through server reflection on the $name", (port) => {
  it("lists the public and standard services, and no internal one", async () => {
    const r = await bufCurl([...port.flags, "--list-services", port.url()]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split("\n")).toEqual([...standardServices, ...publicServices].sort());
  });

  it("lists the methods", async () => {
    const r = await bufCurl([...port.flags, "--list-methods", port.url()]);
    expect(r.code, r.stderr).toBe(0);
    const methods = r.stdout.trim().split("\n");
    expect(methods).toEqual(
      expect.arrayContaining([
        "messenger.accounts.v1.AccountsService/Register",
        "messenger.accounts.v1.AccountsService/Login",
        "messenger.gateway.v1.GatewayService/Session",
        "grpc.health.v1.Health/Check",
        "grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
      ]),
    );
    expect(methods.filter((m) => m.startsWith("messenger.store.") || m.startsWith("messenger.router.") || m.startsWith("messenger.presence.v1.Session"))).toEqual([]);
  });

  it("registers and logs a device in, and the token works on an authenticated call", async () => {
    const username = `buf_${port.name.replace(/\W+/g, "_")}_${Date.now().toString(36)}`.toLowerCase().slice(0, 32);
    const password = "buf curl password";
    const reg = await call<{ user: { id: string; username: string } }>(port, "messenger.accounts.v1.AccountsService/Register", { username, password });
    expect(reg.user.username).toBe(username);
    const login = await call<{ user: { id: string }; tokens: { accessToken: string; refreshToken: string; accessTokenExpiresAt: string } }>(
      port,
      "messenger.accounts.v1.AccountsService/Login",
      { username, password, deviceId: "buf-curl" },
    );
    expect(login.user.id).toBe(reg.user.id);
    expect(login.tokens.refreshToken).toBeTruthy();
    // A google.protobuf.Timestamp, printed as RFC 3339: buf resolved the well-known type.
    expect(Date.parse(login.tokens.accessTokenExpiresAt)).toBeGreaterThan(Date.now());
    const looked = await call<{ user: { id: string } }>(port, "messenger.accounts.v1.AccountsService/LookupUser", { username }, ["-H", `authorization: Bearer ${login.tokens.accessToken}`]);
    expect(looked.user.id).toBe(reg.user.id);
  });

  it("calls grpc.health.v1.Health/Check: SERVING for the server and a mounted service, NOT_FOUND for an internal one", async () => {
    expect(await call(port, "grpc.health.v1.Health/Check", {})).toEqual({ status: "SERVING" });
    expect(await call(port, "grpc.health.v1.Health/Check", { service: "messenger.gateway.v1.GatewayService" })).toEqual({ status: "SERVING" });
    const r = await bufCurl([...port.flags, "-d", JSON.stringify({ service: "messenger.store.v1.StoreService" }), `${port.url()}/grpc.health.v1.Health/Check`]);
    expect(r.code).not.toBe(0);
    expect(`${r.stdout}${r.stderr}`).toMatch(/not.found/i);
  });

  it("describes a service by its real file, which names its imports, and sends them along", async () => {
    const res = await call<{ fileDescriptorResponse?: { fileDescriptorProto: string[] } }>(port, "grpc.reflection.v1.ServerReflection/ServerReflectionInfo", {
      fileContainingSymbol: "messenger.accounts.v1.AccountsService",
    });
    const files = (res.fileDescriptorResponse?.fileDescriptorProto ?? []).map((b) => fromBinary(FileDescriptorProtoSchema, base64Decode(b)));
    expect(files.map((f) => [f.name, f.dependency])).toEqual([
      ["messenger/accounts/v1/accounts_service.proto", ["messenger/accounts/v1/types.proto"]],
      ["messenger/accounts/v1/types.proto", ["google/protobuf/timestamp.proto"]],
      ["google/protobuf/timestamp.proto", []],
    ]);
    const login = files[0]?.service.find((s) => s.name === "AccountsService")?.method.find((m) => m.name === "Login");
    expect([login?.inputType, login?.outputType]).toEqual([".messenger.accounts.v1.LoginRequest", ".messenger.accounts.v1.LoginResponse"]);
  });

  it("answers an unknown symbol with NOT_FOUND in the stream", async () => {
    const res = await call<{ errorResponse?: { errorCode: number; errorMessage: string } }>(port, "grpc.reflection.v1.ServerReflection/ServerReflectionInfo", {
      fileContainingSymbol: "messenger.store.v1.StoreService",
    });
    expect(res.errorResponse?.errorCode).toBe(5);
  });
});
