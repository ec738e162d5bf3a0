import type { Client } from "@connectrpc/connect";
import type { TokenIssuer, TokenVerifier } from "@messenger/auth";
import type { StoreService } from "@messenger/proto/store/v1/store_service";
import type { ServiceRoute } from "@messenger/rpc";
import { storeDirectRelations } from "./adapters/store-direct-relations.js";
import { Accounts, type AccountsSettings } from "./domain/accounts.js";
import { Contacts, defaultContactLimits, type ContactLimits } from "./domain/contacts.js";
import { Privacy } from "./domain/privacy.js";
import { Relations } from "./domain/relations.js";
import { accountsRoute } from "./rpc/accounts-service.js";
import { contactsRoute } from "./rpc/contacts-service.js";
import { relationsRoute } from "./rpc/relations-service.js";
import type { AccountRepository } from "./storage/account-repository.js";
import type { ContactsRepository } from "./storage/contacts-repository.js";

/** The accounts service, ready to mount on any transport. */
export interface AccountsApp {
  /** AccountsService and ContactsService (public), RelationsService (internal). */
  readonly routes: ServiceRoute[];
  close(): Promise<void>;
}

/** What the accounts service is built from. */
export interface AccountsAppDeps {
  readonly repo: AccountRepository & ContactsRepository;
  readonly issuer: TokenIssuer;
  readonly verifier: TokenVerifier;
  /** The message store, told of blocks and new contacts (SetDirectRelation). */
  readonly store: Client<typeof StoreService>;
  readonly settings: AccountsSettings;
  /** @default defaultContactLimits (5000 contacts, 1000 pending requests per user) */
  readonly contactLimits?: ContactLimits;
}

/** Composes the accounts service from its store, token issuer and the message store client. */
export function createAccountsApp(deps: AccountsAppDeps): AccountsApp {
  const accounts = new Accounts(deps.repo, deps.issuer, deps.settings);
  const contacts = new Contacts(deps.repo, storeDirectRelations(deps.store), deps.contactLimits ?? defaultContactLimits);
  return {
    routes: [
      accountsRoute({ accounts, verifier: deps.verifier }),
      contactsRoute({ contacts, privacy: new Privacy(deps.repo), verifier: deps.verifier }),
      relationsRoute({ relations: new Relations(deps.repo) }),
    ],
    close: () => deps.repo.close(),
  };
}
