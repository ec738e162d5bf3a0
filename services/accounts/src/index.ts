export { createAccountsApp, type AccountsApp, type AccountsLimits } from "./app.js";
export { accountsLimits, accountsLimitsEnv } from "./limits-env.js";
export { openSqliteAccountRepository, type AccountsRepositories } from "./storage/sqlite-account-repository.js";
export type { AccountRepository } from "./storage/account-repository.js";
export type { ContactsRepository } from "./storage/contacts-repository.js";
export { defaultContactLimits } from "./domain/contacts.js";
export type { NotificationsRepository } from "./storage/notifications-repository.js";
