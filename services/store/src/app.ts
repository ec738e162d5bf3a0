import type { Client } from "@connectrpc/connect";
import type { TokenVerifier } from "@messenger/auth";
import type { AccountsService } from "@messenger/proto/accounts/v1/accounts_service";
import type { ServiceRoute } from "@messenger/rpc";
import { historyRoute } from "./rpc/history-service.js";
import { storeRoute } from "./rpc/store-service.js";
import type { HistoryRepository } from "./storage/history-repository.js";

/** The store service, ready to mount on any transport. */
export interface StoreApp {
  readonly routes: ServiceRoute[];
  close(): Promise<void>;
}

/** Composes the store from its adapters: the history repository and an accounts client. */
export function createStoreApp(deps: {
  repo: HistoryRepository;
  verifier: TokenVerifier;
  accounts: Client<typeof AccountsService>;
  now?: () => number;
}): StoreApp {
  const now = deps.now ?? Date.now;
  return {
    routes: [historyRoute({ ...deps, now }), storeRoute({ repo: deps.repo, now })],
    close: () => deps.repo.close(),
  };
}
