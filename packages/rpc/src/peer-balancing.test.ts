import dns from "node:dns";
import { createClient } from "@connectrpc/connect";
import { PushConfigService } from "@messenger/proto/push/v1/push_config_service";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createGrpcJsTransport } from "./grpc-js-transport.js";
import { startGrpcServer, type GrpcServerHandle } from "./grpc-server.js";
import { route } from "./service-routes.js";

// Two replicas of one peer service, as a headless Service's name resolves to every pod:
// 127.0.0.1 and 127.0.0.2 on one port (Linux routes all of 127/8 to lo). Each answers with
// its own name, so a test sees which replica took a call. Both recycle their connections
// quickly, as the internal port does in production (30 s there).
const peerName = "peer.messenger.test";
const ageMs = 300;
const replicaRoute = (name: string) => route(PushConfigService, { getWebPushConfig: () => ({ vapidPublicKey: name }) }, "internal");
const startReplica = (host: string, port: number, name: string): Promise<GrpcServerHandle> =>
  startGrpcServer({ host, port, routes: [replicaRoute(name)], maxReceiveMessageBytes: 1 << 20, maxConnectionAgeMs: ageMs, maxConnectionAgeGraceMs: 1_000 });

let a: GrpcServerHandle;
let b: GrpcServerHandle;
beforeAll(async () => {
  a = await startReplica("127.0.0.1", 0, "a");
  b = await startReplica("127.0.0.2", a.port, "b");
});
afterAll(async () => {
  await Promise.all([a.close(100), b.close(100)]);
});

// What the system resolver answers for the peer's name; the only stand-in in these tests
// (this machine's resolver cannot be given a name without editing system files). grpc-js's
// own DNS resolver, balancer and connections run unchanged.
let resolvesTo: string[] = [];
const realLookup = dns.promises.lookup.bind(dns.promises);
const lookups = vi.spyOn(dns.promises, "lookup").mockImplementation(((hostname: string, options: dns.LookupAllOptions) =>
  hostname === peerName ? Promise.resolve(resolvesTo.map((address) => ({ address, family: 4 }))) : realLookup(hostname, options)) as never);
afterEach(() => lookups.mockClear());
afterAll(() => lookups.mockRestore());

/** Calls until `until` holds for the replicas seen so far, at most for boundMs; returns every answer. */
async function callUntil(call: () => Promise<string>, until: (seen: string[]) => boolean, boundMs = 5_000): Promise<string[]> {
  const seen: string[] = [];
  const deadline = Date.now() + boundMs;
  while (!until(seen) && Date.now() < deadline) {
    // A few at once, so that some are in flight whenever a connection is recycled.
    seen.push(...(await Promise.all([call(), call(), call()])));
  }
  return seen;
}

describe("calls to a peer service", () => {
  it("spread round-robin over every address the peer's name resolves to", async () => {
    resolvesTo = ["127.0.0.1", "127.0.0.2"];
    const transport = createGrpcJsTransport(`http://${peerName}:${a.port}`, { defaultTimeoutMs: 5_000 });
    const peer = createClient(PushConfigService, transport);
    const call = async () => (await peer.getWebPushConfig({})).vapidPublicKey;
    try {
      // Calls go to whichever replica is connected first until both are.
      const warmup = await callUntil(call, (seen) => seen.includes("a") && seen.includes("b"));
      expect(warmup).toContain("b");
      const answers: string[] = [];
      for (let i = 0; i < 12; i++) answers.push(await call());
      expect(answers.filter((r) => r === "a").length).toBeGreaterThanOrEqual(4);
      expect(answers.filter((r) => r === "b").length).toBeGreaterThanOrEqual(4);
      expect(lookups.mock.calls.some(([hostname]) => hostname === peerName)).toBe(true);
    } finally {
      transport.close();
    }
  });

  it("reach a replica that appeared after the caller connected, once the connection is recycled", async () => {
    resolvesTo = ["127.0.0.1"];
    const transport = createGrpcJsTransport(`http://${peerName}:${a.port}`, { defaultTimeoutMs: 5_000, minResolutionIntervalMs: 0 });
    const peer = createClient(PushConfigService, transport);
    const call = async () => (await peer.getWebPushConfig({})).vapidPublicKey;
    try {
      expect(await call()).toBe("a");
      // b becomes ready: the name now lists it, but nothing tells a connected caller until
      // a's connection reaches its age and the caller resolves again.
      resolvesTo = ["127.0.0.1", "127.0.0.2"];
      const answers = await callUntil(call, (seen) => seen.includes("b"));
      // Every call succeeded (callUntil would have thrown), across the recycles of a's connection.
      expect(answers).toContain("b");
    } finally {
      transport.close();
    }
  });

  it("keep working with an IP literal, IPv4 or IPv6, as one-machine setups give", async () => {
    const v6 = await startGrpcServer({ host: "::1", port: 0, routes: [replicaRoute("v6")], maxReceiveMessageBytes: 1 << 20 });
    const byV4 = createGrpcJsTransport(`http://127.0.0.1:${a.port}`);
    const byV6 = createGrpcJsTransport(`http://[::1]:${v6.port}`);
    try {
      expect((await createClient(PushConfigService, byV4).getWebPushConfig({})).vapidPublicKey).toBe("a");
      expect((await createClient(PushConfigService, byV6).getWebPushConfig({})).vapidPublicKey).toBe("v6");
      expect(lookups).not.toHaveBeenCalled();
    } finally {
      byV4.close();
      byV6.close();
      await v6.close(100);
    }
  });
});
