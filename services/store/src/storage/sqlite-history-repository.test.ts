import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import { historyRepositoryContract } from "./history-repository.contract.js";
import { openSqliteHistoryRepository } from "./sqlite-history-repository.js";

const dir = mkdtempSync(join(tmpdir(), "messenger-history-"));
let n = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

historyRepositoryContract("sqlite file", async () => openSqliteHistoryRepository(join(dir, `history-${n++}.db`)));
