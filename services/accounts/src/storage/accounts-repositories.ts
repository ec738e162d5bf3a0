import type { AccountRepository } from "./account-repository.js";
import type { ContactsRepository } from "./contacts-repository.js";
import type { NotificationsRepository } from "./notifications-repository.js";

/** Every store port of the accounts service, as each adapter (SQLite, MongoDB) provides them together. */
export type AccountsRepositories = AccountRepository & ContactsRepository & NotificationsRepository;
