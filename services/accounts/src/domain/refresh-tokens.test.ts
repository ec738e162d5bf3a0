import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { createTokenIssuer, PasswordHasher } from "@messenger/auth";
import { DomainError, type DomainErrorKind } from "@messenger/rpc/domain-error";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openSqliteAccountRepository } from "../storage/sqlite-account-repository.js";
import { Accounts, type DeviceTokens, type SecurityEvent } from "./accounts.js";
import { refusal } from "./contacts-fixture.js";

let dir: string;
let events: SecurityEvent[];
let close: () => Promise<void>;
let accounts: Accounts;
/** The accounts' clock: a test moves it to tell two moments apart. */
let clock: number;

/** A refresh's new tokens, or the kind of its refusal. */
async function outcome(p: Promise<DeviceTokens>): Promise<{ tokens?: DeviceTokens; refused?: DomainErrorKind }> {
  try {
    return { tokens: await p };
  } catch (err) {
    if (!(err instanceof DomainError)) throw err;
    return { refused: err.kind };
  }
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "messenger-refresh-"));
  const repo = openSqliteAccountRepository(join(dir, "accounts.db"));
  const issuer = await createTokenIssuer({ keyPath: join(dir, "key.json"), ttlSeconds: 60 });
  events = [];
  const passwords = new PasswordHasher({ threads: 1 });
  clock = Date.now();
  accounts = new Accounts(repo, issuer, passwords, { scryptLogN: 10, refreshTokenTtlSeconds: 3600 }, (e) => events.push(e), () => clock);
  close = async () => {
    await passwords.close();
    await repo.close();
  };
  await accounts.register("ann", "correct horse battery", "");
});
afterEach(async () => {
  await close();
  rmSync(dir, { recursive: true, force: true });
});

describe("refresh tokens", () => {
  it("rotate: each works once, and the newest keeps working", async () => {
    const { tokens } = await accounts.login("ann", "correct horse battery", "phone");
    const second = await accounts.refresh(tokens.refreshToken);
    const third = await accounts.refresh(second.refreshToken);
    expect(third.refreshToken).not.toBe(second.refreshToken);
    expect(events).toEqual([]);
  });

  it("a reused token revokes the device's whole family and reports it; other devices and a new login are not touched", async () => {
    const phone = (await accounts.login("ann", "correct horse battery", "phone")).tokens;
    const laptop = (await accounts.login("ann", "correct horse battery", "laptop")).tokens;
    const rotated = await accounts.refresh(phone.refreshToken);
    // The old token again (a thief, or the rightful device after a thief): both lose the family.
    expect(await refusal(accounts.refresh(phone.refreshToken))).toBe("unauthenticated");
    expect(events).toEqual([{ event: "refresh_token_reuse", userId: expect.any(String), deviceId: "phone" }]);
    expect(await refusal(accounts.refresh(rotated.refreshToken))).toBe("unauthenticated");
    // Another device's family stands; logging in again starts a new one.
    await accounts.refresh(laptop.refreshToken);
    const again = (await accounts.login("ann", "correct horse battery", "phone")).tokens;
    await accounts.refresh(again.refreshToken);
    expect(events).toHaveLength(1);
  });

  it("lets at most one of two refreshes racing with one token through, reports the replay once, and revokes the winner's new token with the family", async () => {
    const { tokens } = await accounts.login("ann", "correct horse battery", "phone");
    // Which one wins, and whether the winner's rotation lands before the replay revokes the
    // family, depends on the store's interleaving (this file's SQLite runs each step whole;
    // replicas over MongoDB do not): the invariant holds for every one.
    const outcomes = await Promise.all([outcome(accounts.refresh(tokens.refreshToken)), outcome(accounts.refresh(tokens.refreshToken))]);
    const won = outcomes.flatMap((o) => (o.tokens ? [o.tokens] : []));
    expect(won.length).toBeLessThanOrEqual(1);
    for (const o of outcomes) if (!o.tokens) expect(o.refused).toBe("unauthenticated");
    expect(events).toEqual([{ event: "refresh_token_reuse", userId: expect.any(String), deviceId: "phone" }]);
    for (const w of won) expect(await refusal(accounts.refresh(w.refreshToken))).toBe("unauthenticated");
    const again = (await accounts.login("ann", "correct horse battery", "phone")).tokens;
    await accounts.refresh(again.refreshToken);
    expect(events).toHaveLength(1);
  });

  it("an unknown or empty token is refused without a security event", async () => {
    expect(await refusal(accounts.refresh("not-a-token"))).toBe("unauthenticated");
    expect(await refusal(accounts.refresh(""))).toBe("unauthenticated");
    expect(events).toEqual([]);
  });

  it("opens a file from before reuse detection (no used_at column) and keeps its tokens", async () => {
    const file = join(dir, "old.db");
    const db = new Database(file);
    db.exec(`CREATE TABLE refresh_tokens (token_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, device_id TEXT NOT NULL, expires_at INTEGER NOT NULL);
             INSERT INTO refresh_tokens VALUES ('h', 'u', 'd', ${Date.now() + 60_000});`);
    db.close();
    const repo = openSqliteAccountRepository(file);
    expect(await repo.takeRefreshToken("h", Date.now())).toMatchObject({ use: "fresh", record: { userId: "u", deviceId: "d" } });
    expect(await repo.takeRefreshToken("h", Date.now())).toMatchObject({ use: "reused" });
    await repo.close();
  });
});

describe("devices", () => {
  it("a login registers its device once (a second login keeps the first time); a logout forgets it and ends its refresh tokens", async () => {
    const ann = await accounts.lookup("ann");
    const phone = (await accounts.login("ann", "correct horse battery", "phone")).tokens;
    const [first] = await accounts.devices([ann.id]);
    clock += 60_000;
    await accounts.login("ann", "correct horse battery", "phone");
    const laptop = (await accounts.login("ann", "correct horse battery", "laptop")).tokens;
    expect(await accounts.devices([ann.id, "u_nobody"])).toEqual([
      { userId: ann.id, deviceId: "laptop", registeredAt: expect.any(Number) },
      { userId: ann.id, deviceId: "phone", registeredAt: first!.registeredAt },
    ]);
    await accounts.logout(ann.id, "phone");
    expect((await accounts.devices([ann.id])).map((d) => d.deviceId)).toEqual(["laptop"]);
    expect(await refusal(accounts.refresh(phone.refreshToken))).toBe("unauthenticated");
    await accounts.refresh(laptop.refreshToken);
    expect(events).toEqual([]);
    expect(await refusal(accounts.devices(Array.from({ length: 1001 }, (_, i) => `u${i}`)))).toBe("invalid_argument");
  });

  it("registers, as if since always, every device that held a token in a file from before the registry", async () => {
    const file = join(dir, "old-devices.db");
    const db = new Database(file);
    db.exec(`CREATE TABLE refresh_tokens (token_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, device_id TEXT NOT NULL, expires_at INTEGER NOT NULL);
             INSERT INTO refresh_tokens VALUES ('h1', 'u', 'd1', 1), ('h2', 'u', 'd1', 2), ('h3', 'u', 'd2', 3);`);
    db.close();
    const repo = openSqliteAccountRepository(file);
    expect(await repo.devicesOf(["u"])).toEqual([
      { userId: "u", deviceId: "d1", registeredAt: 0 },
      { userId: "u", deviceId: "d2", registeredAt: 0 },
    ]);
    await repo.close();
  });
});
