import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { AccountsService } from "@messenger/proto/accounts/v1/accounts_service";
import { clientAddressHeader, retryAfterMsOf } from "@messenger/rpc";
import { startCluster, type LocalCluster } from "@messenger/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectFrom, grpcFrom, type AddressedTransport } from "../support/from-address.js";

// In a cluster a client's Register reaches accounts through a gateway, which forwards it to
// accounts' internal port: the per-address limit must still count the client's address, not
// the gateway's, and no client may choose the address it is counted under.

let cluster: LocalCluster;
const opened: AddressedTransport[] = [];
beforeAll(async () => {
  cluster = await startCluster({ gateways: 2, env: { SCRYPT_LOG_N: "12", LOG_LEVEL: "warn", REGISTER_RATE_LIMIT_PER_ADDRESS: "2/1h" } });
}, 60_000);
afterAll(async () => {
  for (const t of opened) t.close();
  await cluster.stop();
}, 60_000);

let n = 0;
/** Registers a fresh username from `t`, optionally claiming another address; the error, or undefined. */
function register(t: AddressedTransport, claim?: string): Promise<ConnectError | undefined> {
  opened.push(t);
  const username = `addr${process.pid}x${n++}`;
  return createClient(AccountsService, t.transport)
    .register({ username, password: "correct horse battery", displayName: "" }, claim ? { headers: { [clientAddressHeader]: claim } } : {})
    .then(
      () => undefined,
      (err: unknown) => ConnectError.from(err),
    );
}

const expectLimited = (err: ConnectError | undefined): void => {
  expect(err?.code).toBe(Code.ResourceExhausted);
  expect(err?.rawMessage).toMatch(/^too many registrations from this address; try again in \d+ s$/);
  expect(retryAfterMsOf(err!)).toBeGreaterThan(0);
};

describe("the registration limit per address, in a cluster", () => {
  it("counts the client's address through either gateway, not the gateway's, and ignores an address a client claims", async () => {
    const [gw1, gw2] = cluster.gatewayUrls() as [string, string];
    expect(await register(grpcFrom(gw1, "127.0.0.2"))).toBeUndefined();
    expect(await register(grpcFrom(gw2, "127.0.0.2"))).toBeUndefined();
    expectLimited(await register(grpcFrom(gw1, "127.0.0.2")));
    expectLimited(await register(grpcFrom(gw2, "127.0.0.2")));
    // Another client on the same gateways is not held back by the first.
    expect(await register(grpcFrom(gw1, "127.0.0.3"))).toBeUndefined();

    // A claim sent to a gateway (gRPC or HTTP port) or to accounts' public ports changes nothing.
    const gatewayHttp = `http://127.0.0.1:${cluster.gateways[0]!.httpPort}`;
    const accountsGrpc = `http://127.0.0.1:${cluster.accounts.grpcPort}`;
    const accountsHttp = `http://127.0.0.1:${cluster.accounts.httpPort}`;
    expectLimited(await register(grpcFrom(gw1, "127.0.0.2"), "127.0.0.99"));
    expectLimited(await register(connectFrom(gatewayHttp, "127.0.0.2"), "127.0.0.99"));
    expectLimited(await register(grpcFrom(accountsGrpc, "127.0.0.2"), "127.0.0.99"));
    expectLimited(await register(connectFrom(accountsHttp, "127.0.0.2"), "127.0.0.99"));
    // Nor can a client spend another's budget by claiming its address.
    for (const t of [grpcFrom(gw2, "127.0.0.4"), grpcFrom(accountsGrpc, "127.0.0.4")]) expect(await register(t, "127.0.0.3")).toBeUndefined();
    expect(await register(grpcFrom(gw1, "127.0.0.3"))).toBeUndefined();
    expectLimited(await register(grpcFrom(gw1, "127.0.0.3")));
    expect(await cluster.accounts.metric("messenger_rate_limited_total", { limit: "register_per_address" })).toBe(7);
  }, 60_000);
});
