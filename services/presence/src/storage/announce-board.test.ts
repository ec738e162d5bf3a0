import { jetstreamManager, StorageType } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { startNatsServer, type NatsServer } from "@messenger/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { announceBoardContract } from "./announce-board.contract.js";
import { createMemoryAnnounceBoard, type AnnounceBoard } from "./announce-board.js";
import { decodeAnnounceRecord } from "./announce-record-codec.js";
import { announceBucket, createNatsAnnounceBoard } from "./nats-announce-board.js";

announceBoardContract("memory", async () => {
  // One process: every open sees the same records.
  let board: AnnounceBoard | undefined;
  return {
    open: async () => (board ??= createMemoryAnnounceBoard()),
    destroy: async () => {},
  };
});

let nats: NatsServer;
beforeAll(async () => {
  nats = await startNatsServer();
});
afterAll(async () => {
  await nats.stop();
});

announceBoardContract("NATS KV", async () => {
  const connections: NatsConnection[] = [];
  return {
    // Each replica on its own connection.
    async open() {
      const nc = await connect({ servers: nats.url });
      connections.push(nc);
      return createNatsAnnounceBoard(nc);
    },
    async destroy() {
      const nc = await connect({ servers: nats.url });
      await (await jetstreamManager(nc)).streams.delete(`KV_${announceBucket}`).catch(() => false);
      await nc.close();
      for (const c of connections) if (!c.isClosed()) await c.close();
    },
  };
});

describe("NATS KV announcement bucket", () => {
  it("is file-backed and keeps one value per user", async () => {
    const nc = await connect({ servers: nats.url });
    try {
      await createNatsAnnounceBoard(nc);
      const info = await (await jetstreamManager(nc)).streams.info(`KV_${announceBucket}`);
      expect(info.config.storage).toBe(StorageType.File);
      expect(info.config.max_msgs_per_subject).toBe(1);
    } finally {
      await nc.close();
    }
  });

  it("reads a record with fields it does not know (written by a newer replica)", () => {
    // Field 3 = 5 (window end), then an unknown field 9 = 1.
    expect(decodeAnnounceRecord(new Uint8Array([0x18, 0x05, 0x48, 0x01]))).toEqual({ announced: undefined, pending: undefined, windowEndsAt: 5 });
  });
});
