import type { Client } from "@connectrpc/connect";
import type { TokenVerifier } from "@messenger/auth";
import type { DevicesService } from "@messenger/proto/accounts/v1/devices_service";
import type { RelationsService } from "@messenger/proto/accounts/v1/relations_service";
import { z } from "@messenger/config";
import type { ServiceRoute } from "@messenger/rpc";
import { limits } from "./domain/limits.js";
import { accountsDeviceDirectory } from "./adapters/device-directory.js";
import { retentionPass, startRetentionSweeper, type RetentionPass, type RetentionSweepEvents } from "./domain/retention.js";
import { defaultStoreAndForwardMaxHoldMs } from "./domain/store-and-forward.js";
import { historyRoute } from "./rpc/history-service.js";
import { storeRoute } from "./rpc/store-service.js";
import type { HistoryRepository } from "./storage/history-repository.js";

/** The store service, ready to mount on any transport. */
export interface StoreApp {
  readonly routes: ServiceRoute[];
  /**
   * One retention pass now, as if at `at` (default: now), for tests and operators' tools; the
   * sweeper also runs on its own.
   */
  sweepRetention(at?: number): Promise<RetentionPass>;
  close(): Promise<void>;
}

/**
 * The retention sweeper's pace (RETENTION_SWEEP_INTERVAL_MS, RETENTION_SWEEP_BATCH) and how
 * long a store-and-forward message waits for a device that never comes back
 * (STORE_AND_FORWARD_MAX_HOLD_MS).
 */
export interface RetentionSweepSettings {
  /** 0 runs no sweeper (passes only through sweepRetention). */
  readonly intervalMs: number;
  readonly batch: number;
  readonly storeAndForwardMaxHoldMs: number;
}

export const defaultRetentionSweep: RetentionSweepSettings = { intervalMs: 60_000, batch: 1_000, storeAndForwardMaxHoldMs: defaultStoreAndForwardMaxHoldMs };

/** The sweeper's environment, read by the store alone and by the one-process system (see the README). */
export const retentionSweepEnv = {
  RETENTION_SWEEP_INTERVAL_MS: z.coerce.number().int().min(0).default(defaultRetentionSweep.intervalMs),
  RETENTION_SWEEP_BATCH: z.coerce.number().int().min(1).default(defaultRetentionSweep.batch),
  STORE_AND_FORWARD_MAX_HOLD_MS: z.coerce.number().int().min(1).default(defaultRetentionSweep.storeAndForwardMaxHoldMs),
};

/** The settings the environment above gives. */
export function retentionSweepFromEnv(env: { RETENTION_SWEEP_INTERVAL_MS: number; RETENTION_SWEEP_BATCH: number; STORE_AND_FORWARD_MAX_HOLD_MS: number }): RetentionSweepSettings {
  return { intervalMs: env.RETENTION_SWEEP_INTERVAL_MS, batch: env.RETENTION_SWEEP_BATCH, storeAndForwardMaxHoldMs: env.STORE_AND_FORWARD_MAX_HOLD_MS };
}

/**
 * Composes the store from its adapters: the history repository and clients of accounts'
 * internal RelationsService (who exists, where a new direct conversation lands) and
 * DevicesService (which devices a store-and-forward message is owed to).
 * `largeGroupThreshold` (default 256): above this many current members a group is large
 * (no messages or per-member receipts in sync and inbox; clients pull).
 */
export function createStoreApp(deps: {
  repo: HistoryRepository;
  verifier: TokenVerifier;
  relations: Client<typeof RelationsService>;
  devices: Client<typeof DevicesService>;
  now?: () => number;
  largeGroupThreshold?: number;
  retentionSweep?: RetentionSweepSettings;
  retentionEvents?: RetentionSweepEvents;
  /** Where a failed retention pass is reported (it runs again on the next interval). */
  onError?: (err: unknown) => void;
}): StoreApp {
  const now = deps.now ?? Date.now;
  const largeGroupThreshold = deps.largeGroupThreshold ?? limits.defaultLargeGroupThreshold;
  const sweep = deps.retentionSweep ?? defaultRetentionSweep;
  const sweeper = startRetentionSweeper(retentionPass(deps.repo, accountsDeviceDirectory(deps.devices), sweep.storeAndForwardMaxHoldMs), {
    intervalMs: sweep.intervalMs,
    batch: sweep.batch,
    now,
    ...(deps.retentionEvents ? { events: deps.retentionEvents } : {}),
    onError: deps.onError ?? (() => undefined),
  });
  return {
    routes: [historyRoute({ ...deps, now, largeGroupThreshold }), storeRoute({ repo: deps.repo, now, largeGroupThreshold })],
    sweepRetention: (at) => sweeper.runOnce(at),
    async close() {
      await sweeper.stop();
      await deps.repo.close();
    },
  };
}
