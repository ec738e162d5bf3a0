import type { TokenIssuer, TokenVerifier } from "@messenger/auth";
import type { ServiceRoute } from "@messenger/rpc";
import { Accounts, type AccountsSettings } from "./domain/accounts.js";
import { accountsRoute } from "./rpc/accounts-service.js";
import type { AccountRepository } from "./storage/account-repository.js";

/** The accounts service, ready to mount on any transport. */
export interface AccountsApp {
  readonly routes: ServiceRoute[];
  close(): Promise<void>;
}

/** Composes the accounts service from its store and token issuer. */
export function createAccountsApp(deps: { repo: AccountRepository; issuer: TokenIssuer; verifier: TokenVerifier; settings: AccountsSettings }): AccountsApp {
  const accounts = new Accounts(deps.repo, deps.issuer, deps.settings);
  return { routes: [accountsRoute({ accounts, verifier: deps.verifier })], close: () => deps.repo.close() };
}
