import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import { mediaRepositoryContract } from "./media-repository.contract.js";
import { openSqliteMediaRepository } from "./sqlite-media-repository.js";

const dir = mkdtempSync(join(tmpdir(), "messenger-media-"));
let n = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Each home is one file; its replicas are connections to that file (as two processes on one data directory would be).
mediaRepositoryContract("sqlite file", async () => {
  const home = join(dir, `home-${n++}`);
  return {
    open: async () => openSqliteMediaRepository(join(home, "media.db")),
    drop: async () => rmSync(home, { recursive: true, force: true }),
  };
});
