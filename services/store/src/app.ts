import type { Client } from "@connectrpc/connect";
import type { TokenVerifier } from "@messenger/auth";
import type { DevicesService } from "@messenger/proto/accounts/v1/devices_service";
import type { RelationsService } from "@messenger/proto/accounts/v1/relations_service";
import { z } from "@messenger/config";
import type { ServiceRoute } from "@messenger/rpc";
import { limits } from "./domain/limits.js";
import { accountsDeviceDirectory } from "./adapters/device-directory.js";
import type { ArchiveConfig } from "./archive-env.js";
import type { SegmentCorruptError } from "./archive/segment-codec.js";
import { archiveOldHistory, collectArchive, type ArchiveCollection, type ArchiveRun } from "./domain/archiver.js";
import { startPassLoop } from "./domain/pass-loop.js";
import { retentionPass, type RetentionPass, type RetentionSweepEvents } from "./domain/retention.js";
import { defaultStoreAndForwardMaxHoldMs } from "./domain/store-and-forward.js";
import { historyRoute } from "./rpc/history-service.js";
import { storeRoute } from "./rpc/store-service.js";
import { withArchivedReads } from "./storage/archived-history-repository.js";
import type { HistoryRepository } from "./storage/history-repository.js";

/** The store service, ready to mount on any transport. */
export interface StoreApp {
  readonly routes: ServiceRoute[];
  /**
   * One retention pass now, as if at `at` (default: now), for tests and operators' tools; the
   * sweeper also runs on its own.
   */
  sweepRetention(at?: number): Promise<RetentionPass & { archive: ArchiveCollection }>;
  /** One archiving run now, as if at `at` (default: now); the archiver also runs on its own. */
  archiveNow(at?: number): Promise<ArchiveRun>;
  close(): Promise<void>;
}

/** What the archiver reports after each run. */
export interface ArchiveEvents {
  archived(run: ArchiveRun): void;
  collected(collection: ArchiveCollection): void;
  /** A read met a segment it cannot trust (its caller got DATA_LOSS). */
  corrupt(err: SegmentCorruptError): void;
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
  /** Where old history goes, and when (archiveFromEnv). */
  archive: ArchiveConfig;
  archiveEvents?: ArchiveEvents;
  /** Where a failed retention pass or archiving run is reported (it runs again on the next interval). */
  onError?: (err: unknown) => void;
}): StoreApp {
  const now = deps.now ?? Date.now;
  const largeGroupThreshold = deps.largeGroupThreshold ?? limits.defaultLargeGroupThreshold;
  const sweep = deps.retentionSweep ?? defaultRetentionSweep;
  const { blobs, settings } = deps.archive;
  // Every read of history, the retention passes' included, reaches into archived segments.
  const repo = withArchivedReads(deps.repo, blobs, { onCorrupt: (err) => deps.archiveEvents?.corrupt(err) });
  const retention = retentionPass(repo, accountsDeviceDirectory(deps.devices), sweep.storeAndForwardMaxHoldMs);
  const onError = deps.onError ?? (() => undefined);
  const sweeper = startPassLoop<RetentionPass & { archive: ArchiveCollection }>(
    async (at, limit) => {
      const pass = await retention(at, limit);
      // What retention deleted leaves the archive in the same pass.
      const archive = await collectArchive(repo, blobs, { limit: 100 });
      deps.archiveEvents?.collected(archive);
      return { ...pass, archive };
    },
    { intervalMs: sweep.intervalMs, batch: sweep.batch, now, ...(deps.retentionEvents ? { events: deps.retentionEvents } : {}), onError },
  );
  const archiver = startPassLoop((at, maxSegments) => archiveOldHistory(repo, blobs, { ...settings, now: at, maxSegments }), {
    intervalMs: deps.archive.intervalMs,
    batch: deps.archive.batchSegments,
    now,
    ...(deps.archiveEvents ? { events: { swept: (run: ArchiveRun) => deps.archiveEvents?.archived(run) } } : {}),
    onError,
  });
  return {
    routes: [historyRoute({ ...deps, repo, now, largeGroupThreshold }), storeRoute({ repo, now, largeGroupThreshold })],
    sweepRetention: (at) => sweeper.runOnce(at),
    archiveNow: (at) => archiver.runOnce(at),
    async close() {
      await Promise.all([sweeper.stop(), archiver.stop()]);
      await deps.repo.close();
      await blobs.close();
    },
  };
}
