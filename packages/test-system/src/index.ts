import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "@messenger/logging";
import { loadStandaloneConfig, startSystem, type RunningSystem, type StandaloneConfig } from "@messenger/standalone";
import type { Message } from "@messenger/proto/chat/v1/types";
import { MessengerClient } from "@messenger/sdk";
import { testLimitsEnv } from "@messenger/testing";

/** A one-process system on free loopback ports with its own temporary data directory. */
export interface TestSystem extends RunningSystem {
  readonly grpcUrl: string;
  readonly httpUrl: string;
  readonly dataDir: string;
  readonly config: StandaloneConfig;
  /** Stops the system and deletes its data. */
  dispose(): Promise<void>;
}

/**
 * Starts the whole system for a test. The scrypt cost is lowered (2^12) only to keep the
 * suite fast, and the abuse limits are relaxed (testLimitsEnv: every test client shares
 * 127.0.0.1); everything else runs as in production.
 */
export async function startTestSystem(env: Record<string, string> = {}): Promise<TestSystem> {
  const dataDir = env.DATA_DIR ?? mkdtempSync(join(tmpdir(), "messenger-test-"));
  const config = loadStandaloneConfig({ GRPC_PORT: "0", HTTP_PORT: "0", SCRYPT_LOG_N: "12", ...testLimitsEnv({}), ...env, DATA_DIR: dataDir });
  const system = await startSystem(config, createLogger("messenger-test", process.env.TEST_LOG_LEVEL ?? "silent"));
  let stopped = false;
  return {
    ...system,
    grpcUrl: `http://127.0.0.1:${system.grpcPort}`,
    httpUrl: `http://127.0.0.1:${system.httpPort}`,
    dataDir,
    config,
    async stop() {
      if (stopped) return;
      stopped = true;
      await system.stop();
    },
    async dispose() {
      if (!stopped) {
        stopped = true;
        await system.stop();
      }
      if (!env.DATA_DIR) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

let userCounter = 0;

/** Registers a fresh user, logs a device in, and returns the connected-ready client. */
export async function newUser(url: string, opts: { name?: string; deviceId?: string; password?: string } = {}): Promise<MessengerClient> {
  const username = opts.name ?? `user${process.pid}_${Date.now().toString(36)}_${userCounter++}`;
  const password = opts.password ?? "correct horse battery";
  const client = new MessengerClient({ url, deviceId: opts.deviceId ?? "phone", reconnectBaseMs: 50, reconnectMaxMs: 500, gapWaitMs: 100 });
  try {
    await client.register(username, password);
  } catch {
    // Already registered: a second device of the same user.
  }
  await client.login(username, password);
  return client;
}

/** Makes two signed-in users contacts (x asks, y accepts), so each sees the other's presence. */
export async function makeContacts(x: MessengerClient, y: MessengerClient): Promise<void> {
  await x.contacts.request(y.user!.id);
  await y.contacts.accept(x.user!.id);
}

/** Every message the client emits from now on, in order. */
export function collectMessages(c: MessengerClient): Message[] {
  const got: Message[] = [];
  c.on("message", (m) => got.push(m));
  return got;
}

export { eventually } from "@messenger/testing";
