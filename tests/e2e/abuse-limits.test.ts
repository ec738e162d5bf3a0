import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { AccountsService } from "@messenger/proto/accounts/v1/accounts_service";
import { retryAfterMsOf } from "@messenger/rpc";
import { startTestSystem, type TestSystem } from "@messenger/test-system";
import { afterEach, describe, expect, it } from "vitest";
import { api, registerUser, registerUsers, type Api } from "../support/api-user.js";
import { connectFrom, grpcFrom, type AddressedTransport } from "../support/from-address.js";
import { metricValue } from "../support/metrics.js";

// The accounts and groups rate limits, each on its own system (the test harness turns them
// all off), through the real ports: native gRPC (grpc-js) and, once, Connect over HTTP/1.1.
// Clients on different loopback addresses (127.0.0.x) are different addresses to the
// server. A limit of 3 per 6 s refills one call every 2 s: far longer than a burst takes,
// short enough to wait out.

const password = "correct horse battery";
const opened: { close(): unknown }[] = [];
let sys: TestSystem | undefined;
afterEach(async () => {
  for (const o of opened.splice(0)) o.close();
  await sys?.dispose();
  sys = undefined;
});

async function system(env: Record<string, string>): Promise<{ sys: TestSystem; a: Api }> {
  sys = await startTestSystem(env);
  const a = api(sys.grpcUrl);
  opened.push(a);
  return { sys, a };
}

/** The accounts API over `t`. */
function accountsOver(t: AddressedTransport) {
  opened.push(t);
  return createClient(AccountsService, t.transport);
}

/** The error a call failed with, or undefined when it succeeded. */
const failure = (call: Promise<unknown>): Promise<ConnectError | undefined> =>
  call.then(
    () => undefined,
    (err: unknown) => ConnectError.from(err),
  );

/** Expects a rate-limit refusal and returns its retry delay, which must lie within (0, maxMs]. */
function expectLimited(err: ConnectError | undefined, message: RegExp, maxMs: number): number {
  expect(err?.code).toBe(Code.ResourceExhausted);
  expect(err?.rawMessage).toMatch(message);
  const ms = retryAfterMsOf(err!);
  expect(ms).toBeGreaterThan(0);
  expect(ms).toBeLessThanOrEqual(maxMs);
  return ms!;
}

/** Waits the delay the server asked for. */
const waitOut = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const refusals = (limit: string): Promise<number> => metricValue(sys!.httpUrl, "messenger_rate_limited_total", { limit });

describe("login limits", () => {
  it("per username: refused after the burst whether the username exists or not, alike; other usernames unaffected; a correct login works again after the delay", async () => {
    const { a } = await system({ LOGIN_RATE_LIMIT_PER_USERNAME: "3/6s" });
    const [ann, ben] = await registerUsers(a, 2);
    const limited = /^too many login attempts for this username; try again in \d s$/;
    const messages: string[] = [];
    for (const username of [ann.username, "nobody-by-that-name"]) {
      for (let i = 0; i < 2; i++) expect((await failure(a.accounts.login({ username, password: "wrong password", deviceId: "d" })))?.code).toBe(Code.Unauthenticated);
      // registerUser's own login was ann's third attempt; a stranger gets a third try here.
      if (username !== ann.username) expect((await failure(a.accounts.login({ username, password, deviceId: "d" })))?.code).toBe(Code.Unauthenticated);
      const err = await failure(a.accounts.login({ username, password, deviceId: "d" }));
      expectLimited(err, limited, 2_000);
      messages.push(err!.rawMessage.replace(/\d+ s$/, ""));
    }
    expect(messages[0]).toBe(messages[1]);
    expect(await failure(a.accounts.login({ username: ben.username, password, deviceId: "d" }))).toBeUndefined();
    const err = await failure(a.accounts.login({ username: ann.username, password, deviceId: "d" }));
    await waitOut(expectLimited(err, limited, 2_000));
    expect(await failure(a.accounts.login({ username: ann.username, password, deviceId: "d" }))).toBeUndefined();
    expect(await refusals("login_per_username")).toBe(3);
  });

  it("per client address, on the gRPC port and the HTTP port: refused after the burst, other addresses unaffected, and again after the delay", async () => {
    const { sys, a } = await system({ LOGIN_RATE_LIMIT_PER_ADDRESS: "3/6s" });
    // Registered without logging in: logins from this test's own address count too.
    const users = Array.from({ length: 4 }, (_, i) => ({ username: `addr${process.pid}x${i}` }));
    for (const u of users) await a.accounts.register({ ...u, password, displayName: "" });
    const limited = /^too many login attempts from this address; try again in \d s$/;
    for (const [url, from, other] of [
      [sys.grpcUrl, grpcFrom(sys.grpcUrl, "127.0.0.2"), grpcFrom(sys.grpcUrl, "127.0.0.3")],
      [sys.httpUrl, connectFrom(sys.httpUrl, "127.0.0.4"), connectFrom(sys.httpUrl, "127.0.0.5")],
    ] as const) {
      const accounts = accountsOver(from);
      for (const u of users.slice(0, 3)) expect(await failure(accounts.login({ username: u.username, password, deviceId: "d" })), url).toBeUndefined();
      const err = await failure(accounts.login({ username: users[3]!.username, password, deviceId: "d" }));
      const ms = expectLimited(err, limited, 2_000);
      expect(await failure(accountsOver(other).login({ username: users[3]!.username, password, deviceId: "d" }))).toBeUndefined();
      await waitOut(ms);
      expect(await failure(accounts.login({ username: users[3]!.username, password, deviceId: "d" }))).toBeUndefined();
    }
    expect(await refusals("login_per_address")).toBe(2);
  });
});

describe("registration limit", () => {
  it("per client address: the next registration is refused and creates nothing; another address may register; it works after the delay", async () => {
    const { sys } = await system({ REGISTER_RATE_LIMIT_PER_ADDRESS: "3/6s" });
    const accounts = accountsOver(grpcFrom(sys.grpcUrl, "127.0.0.6"));
    const name = (i: number): string => `reg${process.pid}x${i}`;
    for (let i = 0; i < 3; i++) expect(await failure(accounts.register({ username: name(i), password, displayName: "" }))).toBeUndefined();
    const err = await failure(accounts.register({ username: name(3), password, displayName: "" }));
    const ms = expectLimited(err, /^too many registrations from this address; try again in \d s$/, 2_000);
    expect((await failure(accounts.login({ username: name(3), password, deviceId: "d" })))?.code).toBe(Code.Unauthenticated);
    expect(await failure(accountsOver(grpcFrom(sys.grpcUrl, "127.0.0.7")).register({ username: name(4), password, displayName: "" }))).toBeUndefined();
    await waitOut(ms);
    expect(await failure(accounts.register({ username: name(3), password, displayName: "" }))).toBeUndefined();
    expect(await refusals("register_per_address")).toBe(1);
  });
});

describe("per-user limits", () => {
  it("contact requests: refused after the burst, other senders unaffected, and again after the delay", async () => {
    const { a } = await system({ CONTACT_REQUEST_RATE_LIMIT: "3/6s" });
    const [ann, ben, ...others] = await registerUsers(a, 6);
    for (const o of others.slice(0, 3)) await a.contacts.sendContactRequest({ userId: o.id }, ann.auth);
    const err = await failure(a.contacts.sendContactRequest({ userId: others[3]!.id }, ann.auth));
    const ms = expectLimited(err, /^too many contact requests; try again in \d s$/, 2_000);
    // Refused, so not sent.
    expect((await a.contacts.listContactRequests({}, others[3]!.auth)).requests).toEqual([]);
    await a.contacts.sendContactRequest({ userId: others[3]!.id }, ben.auth);
    await waitOut(ms);
    await a.contacts.sendContactRequest({ userId: others[3]!.id }, ann.auth);
    expect(await refusals("contact_request")).toBe(1);
  });

  it("group creations: refused after the burst, other users unaffected, and again after the delay", async () => {
    const { a } = await system({ GROUP_CREATE_RATE_LIMIT: "3/6s" });
    const [ann, ben, carol] = await registerUsers(a, 3);
    for (let i = 0; i < 3; i++) await a.groups.createGroup({ title: `g${i}`, memberUserIds: [ben.id] }, ann.auth);
    const err = await failure(a.groups.createGroup({ title: "one too many", memberUserIds: [ben.id] }, ann.auth));
    const ms = expectLimited(err, /^too many new groups; try again in \d s$/, 2_000);
    await a.groups.createGroup({ title: "carol's", memberUserIds: [ann.id] }, carol.auth);
    await waitOut(ms);
    await a.groups.createGroup({ title: "later", memberUserIds: [ben.id] }, ann.auth);
    expect((await a.history.listConversations({}, ben.auth)).conversations.map((c) => c.title).sort()).toEqual(["g0", "g1", "g2", "later"]);
    expect(await refusals("group_create")).toBe(1);
  });
});

describe("limits set to off", () => {
  it("refuse nothing", async () => {
    const { a } = await system({ LOGIN_RATE_LIMIT_PER_USERNAME: "off" });
    const ann = await registerUser(a);
    for (let i = 0; i < 12; i++) await a.accounts.login({ username: ann.username, password, deviceId: "d" });
  });
});
