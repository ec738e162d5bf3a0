import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { AccountsService } from "@messenger/proto/accounts/v1/accounts_service";
import { startTestSystem, type TestSystem } from "@messenger/test-system";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGrpcJsTransport } from "./grpc-js-transport.js";

let sys: TestSystem;
beforeAll(async () => {
  sys = await startTestSystem();
});
afterAll(async () => {
  await sys.dispose();
});

describe("grpc-js transport for generated Connect clients", () => {
  it("makes unary calls, carries headers, and maps statuses to ConnectError codes", async () => {
    const transport = createGrpcJsTransport(sys.grpcUrl, { defaultTimeoutMs: 5_000 });
    const accounts = createClient(AccountsService, transport);
    const user = await accounts.register({ username: `gjs${Date.now()}`, password: "long enough password" });
    expect(user.user?.id).toMatch(/^u_/);
    const login = await accounts.login({ username: user.user!.username, password: "long enough password", deviceId: "d1" });
    const found = await accounts.lookupUser({ username: user.user!.username }, { headers: { authorization: `Bearer ${login.tokens!.accessToken}` } });
    expect(found.user?.id).toBe(user.user!.id);
    const err = await accounts.lookupUser({ username: "x" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.Unauthenticated);
    transport.close();
  });

  it("reports an unreachable peer as UNAVAILABLE and honours an aborted signal", async () => {
    const transport = createGrpcJsTransport("http://127.0.0.1:1", { defaultTimeoutMs: 2_000 });
    const accounts = createClient(AccountsService, transport);
    await expect(accounts.register({ username: "nobody", password: "whatever123" })).rejects.toMatchObject({ code: Code.Unavailable });
    const ac = new AbortController();
    ac.abort();
    await expect(createClient(AccountsService, createGrpcJsTransport(sys.grpcUrl)).register({ username: "n", password: "p" }, { signal: ac.signal })).rejects.toBeInstanceOf(ConnectError);
    transport.close();
  });
});
