import type { Client } from "@connectrpc/connect";
import type { TokenVerifier } from "@messenger/auth";
import type { RelationsService } from "@messenger/proto/accounts/v1/relations_service";
import type { ServiceRoute } from "@messenger/rpc";
import { limits } from "./domain/limits.js";
import { historyRoute } from "./rpc/history-service.js";
import { storeRoute } from "./rpc/store-service.js";
import type { HistoryRepository } from "./storage/history-repository.js";

/** The store service, ready to mount on any transport. */
export interface StoreApp {
  readonly routes: ServiceRoute[];
  close(): Promise<void>;
}

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
}): StoreApp {
  const now = deps.now ?? Date.now;
  const largeGroupThreshold = deps.largeGroupThreshold ?? limits.defaultLargeGroupThreshold;
  return {
    routes: [historyRoute({ ...deps, now, largeGroupThreshold }), storeRoute({ repo: deps.repo, now, largeGroupThreshold })],
    close: () => deps.repo.close(),
  };
}
