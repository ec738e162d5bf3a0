import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { AccountsService } from "@messenger/proto/accounts/v1/accounts_service";
import { Health, HealthCheckResponse_ServingStatus as Status } from "@messenger/proto/grpc/health/v1/health";
import { describe, expect, it } from "vitest";
import { startGrpcServer } from "./grpc-server.js";
import { healthRoute, ServingState } from "./health.js";
import { startHttpServer } from "./http-server.js";
import { route } from "./service-routes.js";

function client(state: ServingState) {
  const r = healthRoute(["messenger.accounts.v1.AccountsService"], state);
  return createClient(Health, createRouterTransport((router) => router.service(r.service, r.impl)));
}

describe("serving state", () => {
  it("wakes a waiter on a change, and answers at once for a change it already missed", async () => {
    const state = new ServingState();
    const before = state.version;
    const waiting = state.changedSince(before, new AbortController().signal);
    state.set(false);
    await waiting;
    expect(state.serving).toBe(false);
    await state.changedSince(before, new AbortController().signal);
  });

  it("releases a waiter when its call ends", async () => {
    const state = new ServingState();
    const abort = new AbortController();
    const waiting = state.changedSince(state.version, abort.signal);
    abort.abort();
    await waiting;
    expect(state.serving).toBe(true);
  });
});

describe("grpc.health.v1 over the serving state", () => {
  it("Check reports the server and each mounted service, and NOT_FOUND for any other", async () => {
    const state = new ServingState();
    const health = client(state);
    expect((await health.check({ service: "" })).status).toBe(Status.SERVING);
    expect((await health.check({ service: "messenger.accounts.v1.AccountsService" })).status).toBe(Status.SERVING);
    const err = await health.check({ service: "messenger.store.v1.StoreService" }).catch((e: unknown) => ConnectError.from(e));
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.NotFound);
    state.set(false);
    expect((await health.check({ service: "" })).status).toBe(Status.NOT_SERVING);
    expect((await health.list({})).statuses).toEqual({
      "": expect.objectContaining({ status: Status.NOT_SERVING }),
      "messenger.accounts.v1.AccountsService": expect.objectContaining({ status: Status.NOT_SERVING }),
    });
  });

  it("Watch sends the current status, then each change", async () => {
    const state = new ServingState();
    const abort = new AbortController();
    const seen: Status[] = [];
    const stream = client(state).watch({ service: "" }, { signal: abort.signal });
    for await (const res of stream) {
      seen.push(res.status);
      // Flip while the server waits for a change: the watcher must see it.
      if (seen.length === 1) state.set(false);
      if (seen.length === 2) state.set(true);
      if (seen.length === 3) break;
    }
    abort.abort();
    expect(seen).toEqual([Status.SERVING, Status.NOT_SERVING, Status.SERVING]);
  });

  it("Watch of an unknown service says SERVICE_UNKNOWN", async () => {
    const abort = new AbortController();
    const it = client(new ServingState()).watch({ service: "nope" }, { signal: abort.signal })[Symbol.asyncIterator]();
    expect((await it.next()).value?.status).toBe(Status.SERVICE_UNKNOWN);
    abort.abort();
  });
});

describe("health on both listeners", () => {
  it("the gRPC and the Connect port report the one serving state they share", async () => {
    const serving = new ServingState();
    // One method is enough for grpc-js to mount the service; health only reads its name.
    const routes = [route(AccountsService, { register: () => ({}) } as never, "public")];
    const grpc = await startGrpcServer({ host: "127.0.0.1", port: 0, routes, maxReceiveMessageBytes: 1 << 20, serving });
    const http = await startHttpServer({ host: "127.0.0.1", port: 0, routes, maxReceiveMessageBytes: 1 << 20, serving });
    try {
      const clients = [
        createClient(Health, createGrpcTransport({ baseUrl: `http://127.0.0.1:${grpc.port}` })),
        createClient(Health, createConnectTransport({ baseUrl: `http://127.0.0.1:${http.port}`, httpVersion: "1.1" })),
      ];
      const statuses = async (): Promise<Status[]> => Promise.all(clients.map(async (c) => (await c.check({ service: "messenger.accounts.v1.AccountsService" })).status));
      expect(await statuses()).toEqual([Status.SERVING, Status.SERVING]);
      serving.set(false);
      expect(await statuses()).toEqual([Status.NOT_SERVING, Status.NOT_SERVING]);
    } finally {
      await Promise.all([grpc.close(100), http.close()]);
    }
  });
});
