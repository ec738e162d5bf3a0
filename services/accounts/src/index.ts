export { createAccountsApp, type AccountsApp, type AccountsAppDeps } from "./app.js";
export { openSqliteAccountRepository } from "./storage/sqlite-account-repository.js";
export type { AccountRepository } from "./storage/account-repository.js";
export type { ContactsRepository, PresenceVisibility, MessageRequestPolicy, PrivacySettings } from "./storage/contacts-repository.js";
export type { AccountsSettings } from "./domain/accounts.js";
export { defaultContactLimits, type ContactLimits } from "./domain/contacts.js";
export type { DirectRelations, DirectRelationState } from "./domain/direct-relations.js";
export { storeDirectRelations } from "./adapters/store-direct-relations.js";
