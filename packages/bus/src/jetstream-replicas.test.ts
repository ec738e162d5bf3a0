import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstream, jetstreamManager, type JetStreamManager, type StreamInfo } from "@nats-io/jetstream";
import { Kvm, type KvEntry } from "@nats-io/kv";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { eventually, natsServerBinary, startNatsServer, type NatsServer } from "@messenger/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createJetStreamQueue } from "./jetstream-queue.js";
import { JetStreamSetupError, type ReplicasRaised } from "./jetstream-replicas.js";
import { createNatsSessionRegistry, registryBuckets } from "./nats-session-registry.js";

const sessionsStream = `KV_${registryBuckets.sessions}`;
const leasesStream = `KV_${registryBuckets.leases}`;
const queueStream = (name: string) => ({ name, subjects: [`test.${name.toLowerCase()}.>`], maxAgeMs: 60_000 });

async function removeStreams(jsm: JetStreamManager, names: string[]): Promise<void> {
  for (const name of names) await jsm.streams.delete(name).catch(() => false);
}

async function streamInfo(jsm: JetStreamManager, name: string): Promise<StreamInfo | undefined> {
  return jsm.streams.info(name).catch(() => undefined);
}

describe("JetStream replicas on a single NATS server", () => {
  let nats: NatsServer;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  beforeAll(async () => {
    nats = await startNatsServer();
    nc = await connect({ servers: nats.url });
    jsm = await jetstreamManager(nc);
  });
  afterAll(async () => {
    await nc.close();
    await nats.stop();
  });

  it("creates the registry's buckets and the queue's stream with the replicas asked for", async () => {
    await removeStreams(jsm, [sessionsStream, leasesStream, "TEST_ONE"]);
    const registry = await createNatsSessionRegistry(nc, { ttlMs: 10_000, replication: { replicas: 1 } });
    const queue = await createJetStreamQueue(nc, queueStream("TEST_ONE"), { replication: { replicas: 1 } });
    for (const name of [sessionsStream, leasesStream, "TEST_ONE"]) expect((await jsm.streams.info(name)).config.num_replicas).toBe(1);
    await registry.close();
    await queue.close();
  });

  it("refuses 3 replicas on a server outside a cluster, naming the bucket, and creates nothing", async () => {
    await removeStreams(jsm, [sessionsStream, leasesStream]);
    const started = createNatsSessionRegistry(nc, { ttlMs: 10_000, replication: { replicas: 3 } });
    await expect(started).rejects.toThrow(JetStreamSetupError);
    await expect(started).rejects.toThrow(/KV bucket messenger_sessions: 3 JetStream replicas asked, but the NATS server .* is not part of a cluster/);
    expect(await streamInfo(jsm, sessionsStream)).toBeUndefined();
  });

  it("refuses to raise an existing stream to 3 replicas there too, leaving it as it was", async () => {
    await removeStreams(jsm, ["TEST_RAISE_SINGLE"]);
    await (await createJetStreamQueue(nc, queueStream("TEST_RAISE_SINGLE"))).close();
    await expect(createJetStreamQueue(nc, queueStream("TEST_RAISE_SINGLE"), { replication: { replicas: 3 } })).rejects.toThrow(/stream TEST_RAISE_SINGLE: 3 JetStream replicas asked/);
    expect((await jsm.streams.info("TEST_RAISE_SINGLE")).config.num_replicas).toBe(1);
  });

  it("refuses a replica count JetStream cannot have", async () => {
    for (const replicas of [0, 6, 2.5]) {
      await expect(createJetStreamQueue(nc, queueStream("TEST_BAD"), { replication: { replicas } })).rejects.toThrow(`JetStream replicas must be a whole number from 1 to 5, got ${replicas}`);
    }
  });
});

/** A local NATS cluster: `size` nats-server processes with JetStream, routed to each other. */
interface NatsCluster {
  /** Client URLs, one per server, in server order (server names n0, n1, ...). */
  readonly urls: string[];
  /** Kills a server (SIGKILL, as a lost pod). */
  kill(serverName: string): Promise<void>;
  /** Starts a killed server again, with its JetStream store, or with an empty one (`wipe`: a lost volume). */
  restart(serverName: string, opts: { wipe: boolean }): Promise<void>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const address = s.address();
      s.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

async function startNatsCluster(size: number): Promise<NatsCluster> {
  const dir = mkdtempSync(join(tmpdir(), "messenger-nats-cluster-"));
  const clientPorts = await Promise.all(Array.from({ length: size }, freePort));
  const routePorts = await Promise.all(Array.from({ length: size }, freePort));
  const clusterName = `test-${process.pid}`;
  const servers = new Map<string, ChildProcess>();
  const launch = (i: number): void => {
    const routes = routePorts.filter((_, j) => j !== i).map((p) => `nats://127.0.0.1:${p}`);
    const args = ["-a", "127.0.0.1", "-p", String(clientPorts[i]), "-js", "-sd", join(dir, `n${i}`), "--server_name", `n${i}`, "--cluster_name", clusterName];
    args.push("--cluster", `nats://127.0.0.1:${routePorts[i]}`, "--routes", routes.join(","));
    servers.set(`n${i}`, spawn(natsServerBinary, args, { stdio: "ignore" }));
  };
  for (let i = 0; i < size; i++) launch(i);
  process.once("exit", () => {
    for (const s of servers.values()) s.kill("SIGKILL");
  });
  const kill = async (serverName: string): Promise<void> => {
    const s = servers.get(serverName);
    if (!s || s.exitCode !== null || s.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => s.once("exit", () => resolve()));
    s.kill("SIGKILL");
    await exited;
  };
  const urls = clientPorts.map((p) => `nats://127.0.0.1:${p}`);
  // Ready once the cluster has elected its JetStream metadata leader: the account answers.
  const nc = await connect({ servers: urls, waitOnFirstConnect: true, reconnectTimeWait: 50 });
  try {
    const jsm = await jetstreamManager(nc, { checkAPI: false, timeout: 500 });
    await eventually(() => jsm.getAccountInfo().then(() => true, () => false), "the NATS cluster's JetStream metadata leader", 20_000);
  } finally {
    await nc.close();
  }
  return {
    urls,
    kill,
    async restart(serverName, opts) {
      await kill(serverName);
      if (opts.wipe) rmSync(join(dir, serverName), { recursive: true, force: true });
      launch(Number(serverName.slice(1)));
    },
    async stop() {
      for (const n of servers.keys()) await kill(n);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe("JetStream replicas on a 3-node NATS cluster", () => {
  let cluster: NatsCluster;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  beforeAll(async () => {
    cluster = await startNatsCluster(3);
    nc = await connect({ servers: cluster.urls, reconnectTimeWait: 100, maxReconnectAttempts: -1 });
    jsm = await jetstreamManager(nc);
  }, 60_000);
  afterAll(async () => {
    await nc?.close();
    await cluster?.stop();
  });

  /** The servers holding a copy of the stream: its leader and its followers. */
  const holders = (info: StreamInfo): string[] => [info.cluster?.leader ?? "", ...(info.cluster?.replicas ?? []).map((r) => r.name)].sort();

  it("keeps 3 copies of the registry's buckets and the queue's stream, one on each server", async () => {
    await removeStreams(jsm, [sessionsStream, leasesStream, "TEST_THREE"]);
    const registry = await createNatsSessionRegistry(nc, { ttlMs: 10_000, replication: { replicas: 3 } });
    const queue = await createJetStreamQueue(nc, queueStream("TEST_THREE"), { replication: { replicas: 3 } });
    for (const name of [sessionsStream, leasesStream, "TEST_THREE"]) {
      const info = await jsm.streams.info(name);
      expect(info.config.num_replicas).toBe(3);
      expect(holders(info)).toEqual(["n0", "n1", "n2"]);
    }
    await registry.close();
    await queue.close();
  });

  it("raises state kept in one copy to 3 and reports it, and never lowers it", async () => {
    await removeStreams(jsm, [sessionsStream, leasesStream, "TEST_RAISE"]);
    await (await createNatsSessionRegistry(nc, { ttlMs: 10_000 })).close();
    const queue = await createJetStreamQueue(nc, queueStream("TEST_RAISE"));
    await queue.consume("workers", async () => {});
    await queue.close();
    expect((await jsm.streams.info(sessionsStream)).config.num_replicas).toBe(1);

    const raised: ReplicasRaised[] = [];
    const onRaised = (r: ReplicasRaised): void => void raised.push(r);
    await (await createNatsSessionRegistry(nc, { ttlMs: 10_000, replication: { replicas: 3, onRaised } })).close();
    await (await createJetStreamQueue(nc, queueStream("TEST_RAISE"), { replication: { replicas: 3, onRaised } })).close();
    expect(raised).toEqual([
      { stream: sessionsStream, from: 1, to: 3 },
      { stream: leasesStream, from: 1, to: 3 },
      { stream: "TEST_RAISE", from: 1, to: 3 },
    ]);
    for (const name of [sessionsStream, leasesStream, "TEST_RAISE"]) expect((await jsm.streams.info(name)).config.num_replicas).toBe(3);
    // The queue's durable consumer follows its stream.
    await eventually(async () => (await jsm.consumers.info("TEST_RAISE", "workers")).cluster?.replicas?.length === 2, "the consumer's two followers");

    raised.length = 0;
    await (await createNatsSessionRegistry(nc, { ttlMs: 10_000, replication: { replicas: 1, onRaised } })).close();
    await (await createJetStreamQueue(nc, queueStream("TEST_RAISE"), { replication: { replicas: 1, onRaised } })).close();
    expect(raised).toEqual([]);
    for (const name of [sessionsStream, leasesStream, "TEST_RAISE"]) expect((await jsm.streams.info(name)).config.num_replicas).toBe(3);
  });

  it("refuses more replicas than the cluster has servers, naming the bucket and the server's answer", async () => {
    await removeStreams(jsm, [sessionsStream, leasesStream]);
    await expect(createNatsSessionRegistry(nc, { ttlMs: 10_000, replication: { replicas: 5 } })).rejects.toThrow(
      /^KV bucket messenger_sessions not set up: .+ \(5 replicas need a NATS cluster with at least 5 JetStream servers\)$/,
    );
  });

  it("keeps the sessions readable while the server leading their bucket is down, and keeps them when it comes back without its volume", async () => {
    await removeStreams(jsm, [sessionsStream, leasesStream]);
    const writer = await createNatsSessionRegistry(nc, { ttlMs: 60_000, replication: { replicas: 3 } });
    for (let i = 0; i < 50; i++) await writer.put({ sessionId: `s${i}`, userId: `u${i % 10}`, deviceId: `d${i}`, gatewayId: "gw-1" });
    await writer.close();
    const leader = (await jsm.streams.info(sessionsStream)).cluster?.leader ?? "";
    expect(leader).toMatch(/^n\d$/);
    await cluster.kill(leader);

    // The two servers left elect a new leader from the two copies they hold, and answer.
    const reader = await connect({ servers: cluster.urls.filter((_, i) => `n${i}` !== leader) });
    try {
      const sessions = await new Kvm(jetstream(reader, { timeout: 1_000 })).open(registryBuckets.sessions);
      let found: KvEntry | null = null;
      await eventually(async () => (found = await sessions.get("s13").catch(() => null)) !== null, "session s13 read from the servers left", 30_000);
      expect(found).toMatchObject({ key: "s13", operation: "PUT" });
    } finally {
      await reader.close();
    }

    // Its volume lost, the server comes back empty; the others give it the bucket again.
    await cluster.restart(leader, { wipe: true });
    const registry = await createNatsSessionRegistry(nc, { ttlMs: 60_000, replication: { replicas: 3 } });
    try {
      expect((await registry.sessionsOf(["u3"])).map((s) => s.sessionId).sort()).toEqual(["s13", "s23", "s3", "s33", "s43"]);
      await registry.put({ sessionId: "s50", userId: "u3", deviceId: "d50", gatewayId: "gw-1" });
      expect(await registry.sessionsOf(["u3"])).toHaveLength(6);
    } finally {
      await registry.close();
    }
    await eventually(async () => holders(await jsm.streams.info(sessionsStream)).join() === "n0,n1,n2", "three copies of the sessions bucket again", 30_000);
  }, 120_000);
});
