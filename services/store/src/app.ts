import type { Client } from "@connectrpc/connect";
import type { TokenVerifier } from "@messenger/auth";
import type { RelationsService } from "@messenger/proto/accounts/v1/relations_service";
import { z } from "@messenger/config";
import type { ServiceRoute } from "@messenger/rpc";
import { limits } from "./domain/limits.js";
import { startRetentionSweeper, type RetentionSweepEvents } from "./domain/retention.js";
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
  sweepRetention(at?: number): Promise<{ deleted: number; conversations: number; more: boolean }>;
  close(): Promise<void>;
}

/** The retention sweeper's pace (RETENTION_SWEEP_INTERVAL_MS, RETENTION_SWEEP_BATCH). */
export interface RetentionSweepSettings {
  /** 0 runs no sweeper (passes only through sweepRetention). */
  readonly intervalMs: number;
  readonly batch: number;
}

export const defaultRetentionSweep: RetentionSweepSettings = { intervalMs: 60_000, batch: 1_000 };

/** The sweeper's environment, read by the store alone and by the one-process system (see the README). */
export const retentionSweepEnv = {
  RETENTION_SWEEP_INTERVAL_MS: z.coerce.number().int().min(0).default(defaultRetentionSweep.intervalMs),
  RETENTION_SWEEP_BATCH: z.coerce.number().int().min(1).default(defaultRetentionSweep.batch),
};

/**
 * Composes the store from its adapters: the history repository and a client of accounts'
 * internal RelationsService (who exists, where a new direct conversation lands).
 * `largeGroupThreshold` (default 256): above this many current members a group is large
 * (no messages or per-member receipts in sync and inbox; clients pull).
 */
export function createStoreApp(deps: {
  repo: HistoryRepository;
  verifier: TokenVerifier;
  relations: Client<typeof RelationsService>;
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
  const sweeper = startRetentionSweeper(deps.repo, {
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
