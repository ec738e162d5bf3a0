import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstreamManager, StorageType } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { startNatsServer, type NatsServer } from "@messenger/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lastSeenStoreContract } from "./last-seen-store.contract.js";
import { createNatsLastSeenStore, lastSeenBucket } from "./nats-last-seen-store.js";
import { openSqliteLastSeenStore } from "./sqlite-last-seen-store.js";

lastSeenStoreContract("SQLite", async () => {
  const dir = mkdtempSync(join(tmpdir(), "messenger-last-seen-"));
  const path = join(dir, "presence.db");
  return {
    open: async () => openSqliteLastSeenStore(path),
    destroy: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

let nats: NatsServer;
beforeAll(async () => {
  nats = await startNatsServer();
});
afterAll(async () => {
  await nats.stop();
});

lastSeenStoreContract("NATS KV", async () => {
  const connections: NatsConnection[] = [];
  return {
    // Each instance on its own connection, as a restarted presence process would be.
    async open() {
      const nc = await connect({ servers: nats.url });
      connections.push(nc);
      const store = await createNatsLastSeenStore(nc);
      return {
        get: (ids) => store.get(ids),
        put: (id, at) => store.put(id, at),
        async close() {
          await store.close();
          await nc.close();
        },
      };
    },
    async destroy() {
      const nc = await connect({ servers: nats.url });
      await (await jetstreamManager(nc)).streams.delete(`KV_${lastSeenBucket}`).catch(() => false);
      await nc.close();
      for (const c of connections) if (!c.isClosed()) await c.close();
    },
  };
});

describe("NATS KV last-seen bucket", () => {
  it("is file-backed and keeps one value per user", async () => {
    const nc = await connect({ servers: nats.url });
    try {
      await createNatsLastSeenStore(nc);
      const info = await (await jetstreamManager(nc)).streams.info(`KV_${lastSeenBucket}`);
      expect(info.config.storage).toBe(StorageType.File);
      expect(info.config.max_msgs_per_subject).toBe(1);
    } finally {
      await nc.close();
    }
  });
});
