import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { AccountsService } from "@messenger/proto/accounts/v1/accounts_service";
import { eventually } from "@messenger/testing";
import { makeContacts, newUser, startTestSystem, type TestSystem } from "@messenger/test-system";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { metricValue } from "../support/metrics.js";
import { openRawSession } from "../support/raw-session.js";

let sys: TestSystem;
beforeAll(async () => {
  sys = await startTestSystem({ HEARTBEAT_INTERVAL_MS: "200" });
});
afterAll(async () => {
  await sys.dispose();
});

const sweeps = (): Promise<number> => metricValue(sys.httpUrl, "messenger_gateway_heartbeat_sweeps_total");
const expired = (): Promise<number> => metricValue(sys.httpUrl, "messenger_gateway_sessions_expired_total");

describe("readiness", () => {
  it("answers /readyz with 200 on the HTTP port while serving", async () => {
    const res = await fetch(`${sys.httpUrl}/readyz`);
    expect([res.status, await res.text()]).toEqual([200, "ok\n"]);
  });
});

describe("heartbeats", () => {
  it("ends a session whose client stops pinging, and its contacts see the user go offline", async () => {
    const alice = await newUser(sys.grpcUrl);
    const bob = await newUser(sys.grpcUrl);
    await makeContacts(alice, bob);
    await alice.connect();
    const states: boolean[] = [];
    alice.on("presence", (p) => {
      if (p.userId === bob.user!.id) states.push(p.online);
    });
    const accounts = createClient(AccountsService, createGrpcTransport({ baseUrl: sys.grpcUrl }));
    const token = (await accounts.login({ username: bob.user!.username, password: "correct horse battery", deviceId: "silent" })).tokens!.accessToken;
    // A client that says hello and then never pings (its TCP connection stays up).
    const silent = openRawSession(sys.grpcPort);
    silent.send({ frame: { case: "hello", value: { accessToken: token } } });
    await silent.next((f) => f.frame.case === "syncComplete");
    await eventually(() => states[0] === true, "bob online");
    const expiredBefore = await expired();
    const status = await silent.status;
    expect(status.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(await expired()).toBe(expiredBefore + 1);
    await eventually(() => states.at(-1) === false, "bob offline after missed heartbeats");
    silent.close();
    await Promise.all([alice.close(), bob.close()]);
  });

  it("keeps an SDK session that pings alive across many heartbeat intervals", async () => {
    const alice = await newUser(sys.grpcUrl);
    await alice.connect();
    let drops = 0;
    alice.on("disconnected", () => drops++);
    // Bounded by the server's own sweeps, not a sleep: eight sweeps span more than the three
    // silent intervals after which a sweep ends a session (the test above shows it does).
    const expiredBefore = await expired();
    const sweepsBefore = await sweeps();
    await eventually(async () => (await sweeps()) >= sweepsBefore + 8, "eight heartbeat sweeps");
    expect(drops).toBe(0);
    expect(alice.isConnected).toBe(true);
    expect(await expired()).toBe(expiredBefore);
    await alice.close();
  });
});
