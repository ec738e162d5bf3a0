import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import { accountRepositoryContract } from "./account-repository.contract.js";
import { contactsRepositoryContract } from "./contacts-repository.contract.js";
import { notificationsRepositoryContract } from "./notifications-repository.contract.js";
import { openSqliteAccountRepository } from "./sqlite-account-repository.js";

// Each test gets its own file in a temp dir, removed after the suite.
const dir = mkdtempSync(join(tmpdir(), "messenger-accounts-sqlite-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const open = async () => openSqliteAccountRepository(join(dir, `accounts-${n++}.db`));

accountRepositoryContract("sqlite file", open);
contactsRepositoryContract("sqlite file", open);
notificationsRepositoryContract("sqlite file", open);
