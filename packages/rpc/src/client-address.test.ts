import net from "node:net";
import type { HandlerContext } from "@connectrpc/connect";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { createLogger } from "@messenger/logging";
import { AccountsService } from "@messenger/proto/accounts/v1/accounts_service";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addressLimitKey, addressOfPeer, clientAddress, clientAddressHeader } from "./client-address.js";
import { forwardingRoute } from "./forwarding-route.js";
import { rateLimited, retryAfterMsOf } from "./rate-limit.js";
import { createGrpcJsTransport } from "./grpc-js-transport.js";
import { createServiceMetrics } from "./metrics.js";
import { hostService, type ServiceHost } from "./service-host.js";
import type { ServiceRoute } from "./service-routes.js";

describe("client addresses", () => {
  it("take the host of a grpc-js peer, IPv4-mapped IPv6 as IPv4", () => {
    expect(addressOfPeer("127.0.0.2:51234")).toBe("127.0.0.2");
    expect(addressOfPeer("::1:51234")).toBe("::1");
    expect(addressOfPeer("2001:db8::7:443")).toBe("2001:db8::7");
    expect(addressOfPeer("::ffff:10.0.0.9:80")).toBe("10.0.0.9");
    expect(addressOfPeer("unknown")).toBe("");
  });

  it("limit IPv4 by address and IPv6 by /64 network", () => {
    expect(addressLimitKey("10.0.0.9")).toBe("10.0.0.9");
    expect(addressLimitKey("2001:db8:1:2:aaaa::1")).toBe("2001:db8:1:2::/64");
    expect(addressLimitKey("2001:db8:1:2:bbbb:cccc:dddd:eeee")).toBe("2001:db8:1:2::/64");
    expect(addressLimitKey("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(addressLimitKey("::1")).toBe("0:0:0:0::/64");
  });
});

// A service that answers LookupUser with the address it attributes the call to, hosted as
// every service is (public gRPC, internal gRPC, HTTP), and a gateway in front of it that
// forwards the call to its internal port, as the cluster's gateways do.
const whoAmI: ServiceRoute = {
  service: AccountsService,
  impl: {
    lookupUser: (_req: unknown, ctx: HandlerContext) => ({ user: { id: clientAddress(ctx) } }),
    register: () => {
      throw rateLimited("registrations", 1_500);
    },
  } as unknown as ServiceRoute["impl"],
  visibility: "public",
};
const log = createLogger("client-address-test", "silent");
let owner: ServiceHost;
let gateway: ServiceHost;
let ownerInternal: ReturnType<typeof createGrpcJsTransport>;
const open: (() => void)[] = [];

const host = (routes: ServiceRoute[]): Promise<ServiceHost> =>
  hostService({ host: "127.0.0.1", grpcPort: 0, internalGrpcPort: 0, httpPort: 0, routes, log, metrics: createServiceMetrics("t"), maxReceiveMessageBytes: 1 << 20 });

beforeAll(async () => {
  owner = await host([whoAmI]);
  ownerInternal = createGrpcJsTransport(`http://127.0.0.1:${owner.internalGrpcPort}`);
  gateway = await host([forwardingRoute(AccountsService, ownerInternal)]);
});
afterAll(async () => {
  for (const close of open) close();
  ownerInternal.close();
  await gateway.close(100);
  await owner.close(100);
});

/** gRPC over HTTP/2 to `port` from the loopback address `from`. */
function grpcFrom(port: number, from: string): Transport {
  const sessionManager = new Http2SessionManager(`http://127.0.0.1:${port}`, undefined, { createConnection: () => net.connect({ host: "127.0.0.1", port, localAddress: from }) });
  open.push(() => sessionManager.abort());
  return createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}`, sessionManager });
}

/** Connect over HTTP/1.1 to `port` from `from`. */
const connectFrom = (port: number, from: string): Transport => createConnectTransport({ baseUrl: `http://127.0.0.1:${port}`, httpVersion: "1.1", nodeOptions: { localAddress: from } });

async function seenAs(transport: Transport, claimed?: string): Promise<string> {
  const res = await createClient(AccountsService, transport).lookupUser({ username: "x" }, claimed ? { headers: { [clientAddressHeader]: claimed } } : {});
  return res.user!.id;
}

describe("the address a call is attributed to", () => {
  it("is the socket's on a public port, gRPC or HTTP, whatever the client claims", async () => {
    expect(await seenAs(grpcFrom(owner.grpcPort, "127.0.0.2"))).toBe("127.0.0.2");
    expect(await seenAs(grpcFrom(owner.grpcPort, "127.0.0.3"), "10.9.9.9")).toBe("127.0.0.3");
    expect(await seenAs(connectFrom(owner.httpPort, "127.0.0.4"), "10.9.9.9")).toBe("127.0.0.4");
    // The HTTP port's cleartext HTTP/2 (gRPC there) too.
    expect(await seenAs(grpcFrom(owner.httpPort, "127.0.0.10"), "10.9.9.9")).toBe("127.0.0.10");
  });

  it("is the client's behind a gateway: the gateway forwards the address it saw, a claim sent to it is ignored", async () => {
    expect(await seenAs(grpcFrom(gateway.grpcPort, "127.0.0.5"))).toBe("127.0.0.5");
    expect(await seenAs(grpcFrom(gateway.grpcPort, "127.0.0.6"), "10.9.9.9")).toBe("127.0.0.6");
    expect(await seenAs(connectFrom(gateway.httpPort, "127.0.0.7"), "10.9.9.9")).toBe("127.0.0.7");
  });

  it("is what a peer says on the internal port only, and the peer's own without a valid claim", async () => {
    expect(await seenAs(grpcFrom(owner.internalGrpcPort, "127.0.0.8"), "10.9.9.9")).toBe("10.9.9.9");
    expect(await seenAs(grpcFrom(owner.internalGrpcPort, "127.0.0.8"), "not an address")).toBe("127.0.0.8");
    expect(await seenAs(grpcFrom(owner.internalGrpcPort, "127.0.0.8"))).toBe("127.0.0.8");
  });
});

describe("a gateway forwarding a call", () => {
  it("answers the owner's refusal with the same status and RetryInfo, over gRPC and over Connect", async () => {
    for (const transport of [grpcFrom(gateway.grpcPort, "127.0.0.9"), connectFrom(gateway.httpPort, "127.0.0.9")]) {
      const err = await createClient(AccountsService, transport)
        .register({ username: "x", password: "y" })
        .then(
          () => undefined,
          (e: unknown) => ConnectError.from(e),
        );
      expect([err?.code, err?.rawMessage]).toEqual([Code.ResourceExhausted, "too many registrations; try again in 2 s"]);
      expect(retryAfterMsOf(err!)).toBe(1_500);
    }
  });
});
