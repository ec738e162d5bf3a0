export { createAccountsApp, type AccountsApp } from "./app.js";
export { openSqliteAccountRepository } from "./storage/sqlite-account-repository.js";
export type { AccountRepository } from "./storage/account-repository.js";
export type { AccountsSettings } from "./domain/accounts.js";
