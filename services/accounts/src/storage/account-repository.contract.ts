import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AccountRecord, RefreshTokenRecord } from "./account-repository.js";
import type { AccountsRepositories } from "./accounts-repositories.js";

/**
 * The contract every AccountRepository adapter passes: an adapter's test file calls it with a
 * factory of fresh, empty repositories. Steps the SQLite adapter runs as one transaction are
 * also run twice at once here, as two replicas would over a shared store: a serial adapter
 * passes those trivially, a shared one only if the step is atomic.
 */
export function accountRepositoryContract(adapter: string, open: () => Promise<AccountsRepositories>): void {
  describe(`AccountRepository contract: ${adapter}`, () => {
    let repo: AccountsRepositories;
    beforeEach(async () => {
      repo = await open();
    });
    afterEach(async () => {
      await repo.close();
    });

    const hour = 3_600_000;
    // The suite's clock starts at the wall clock: the MongoDB adapter keeps tokens under a TTL
    // index, so the server deletes any token whose expiry is past in wall-clock time, whatever
    // `now` the test passes. Every token expires an hour after t0 unless a test says otherwise.
    const t0 = Date.now();
    const user = (id: string, username = id): AccountRecord => ({ id, username, displayName: username.toUpperCase(), passwordHash: `hash of ${id}`, createdAt: t0 });
    const token = (userId: string, deviceId: string, expiresAt = t0 + hour): RefreshTokenRecord => ({
      tokenHash: randomBytes(16).toString("hex"),
      userId,
      deviceId,
      expiresAt,
    });
    /** A login of the device: its token, a new family. */
    const login = async (userId: string, deviceId: string, now = t0): Promise<RefreshTokenRecord> => {
      const r = token(userId, deviceId);
      expect(await repo.putRefreshToken(r, { newFamily: true, now })).toBe(true);
      return r;
    };
    /** A refresh as the domain runs it: takes the token, refuses it unless fresh and unexpired, then stores its replacement; the new token, or undefined when refused. */
    const refresh = async (tokenHash: string, now = t0): Promise<RefreshTokenRecord | undefined> => {
      const taken = await repo.takeRefreshToken(tokenHash, now);
      if (taken?.use !== "fresh" || taken.record.expiresAt <= now) return undefined;
      const next = token(taken.record.userId, taken.record.deviceId);
      return (await repo.putRefreshToken(next, { newFamily: false, now, replaces: tokenHash })) ? next : undefined;
    };

    it("keeps a username for its first account: a second with that name is refused and changes nothing", async () => {
      expect(await repo.insertUser(user("u_1", "ann"))).toBe(true);
      expect(await repo.insertUser({ ...user("u_2", "ann"), displayName: "Other" })).toBe(false);
      expect(await repo.userByName("ann")).toEqual(user("u_1", "ann"));
      expect(await repo.usersById(["u_2"])).toEqual([]);
    });

    it("registers one of two accounts racing for one username", async () => {
      const results = await Promise.all([repo.insertUser(user("u_1", "ann")), repo.insertUser(user("u_2", "ann"))]);
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = results[0] ? "u_1" : "u_2";
      expect((await repo.userByName("ann"))?.id).toBe(winner);
      expect((await repo.usersById(["u_1", "u_2"])).map((u) => u.id)).toEqual([winner]);
    });

    it("finds users by name and by ids, in the order asked, repeats included, unknown ones left out", async () => {
      await repo.insertUser(user("u_1", "ann"));
      await repo.insertUser(user("u_2", "bob"));
      expect(await repo.userByName("bob")).toEqual(user("u_2", "bob"));
      expect(await repo.userByName("nobody")).toBeUndefined();
      expect((await repo.usersById(["u_2", "u_x", "u_1", "u_2"])).map((u) => u.username)).toEqual(["bob", "ann", "bob"]);
      expect(await repo.usersById([])).toEqual([]);
    });

    it("trades a refresh token once: fresh, then reused, which revokes every token of that device and no other", async () => {
      const phone = await login("u_1", "phone");
      const laptop = await login("u_1", "laptop");
      expect(await repo.takeRefreshToken(phone.tokenHash, t0 + 1)).toEqual({ use: "fresh", record: phone });
      const rotated = token("u_1", "phone");
      expect(await repo.putRefreshToken(rotated, { newFamily: false, now: t0 + 1, replaces: phone.tokenHash })).toBe(true);
      expect(await repo.takeRefreshToken(phone.tokenHash, t0 + 2)).toEqual({ use: "reused", record: phone });
      // The family is gone: the rotated token too.
      expect(await repo.takeRefreshToken(rotated.tokenHash, t0 + 3)).toBeUndefined();
      expect(await repo.takeRefreshToken(laptop.tokenHash, t0 + 3)).toMatchObject({ use: "fresh" });
      expect(await repo.takeRefreshToken("no such token", t0)).toBeUndefined();
    });

    it("gives one of two refreshes racing with one token the new token, and then revokes it: the device must log in again", async () => {
      const phone = await login("u_1", "phone");
      const [a, b] = await Promise.all([refresh(phone.tokenHash), refresh(phone.tokenHash)]);
      // The replay revoked the family, whichever of the two came second; the winner's new
      // token went with it, or was never stored.
      const stored = [a, b].filter((r) => r !== undefined);
      expect(stored.length).toBeLessThanOrEqual(1);
      for (const r of stored) expect(await repo.takeRefreshToken(r.tokenHash, t0 + 1)).toBeUndefined();
      const again = await login("u_1", "phone", t0 + 2);
      expect(await refresh(again.tokenHash)).toBeDefined();
    });

    it("refuses an expired token, whether the store still holds it or already dropped it", async () => {
      // Past by the suite's clock and by the wall clock, so MongoDB's TTL monitor may delete it
      // at any moment, or not yet: both must end in a refusal.
      const expired = token("u_1", "phone", t0 - hour);
      expect(await repo.putRefreshToken(expired, { newFamily: true, now: t0 - 2 * hour })).toBe(true);
      expect(await refresh(expired.tokenHash, t0)).toBeUndefined();
      // A store that still holds it handed it back with its expiry (what refused it) and marked it used.
      const again = await repo.takeRefreshToken(expired.tokenHash, t0);
      if (again !== undefined) expect(again).toEqual({ use: "reused", record: expired });
      const renewed = await login("u_1", "phone", t0);
      expect(await refresh(renewed.tokenHash, t0 + 1)).toBeDefined();
    });

    it("stores no rotation of a token whose family was revoked after it was taken", async () => {
      const phone = await login("u_1", "phone");
      expect(await repo.takeRefreshToken(phone.tokenHash, t0)).toMatchObject({ use: "fresh" });
      // A replay (another holder of the same token) revokes the family before the rotation is stored.
      expect(await repo.takeRefreshToken(phone.tokenHash, t0)).toMatchObject({ use: "reused" });
      const late = token("u_1", "phone");
      expect(await repo.putRefreshToken(late, { newFamily: false, now: t0, replaces: phone.tokenHash })).toBe(false);
      expect(await repo.takeRefreshToken(late.tokenHash, t0)).toBeUndefined();
    });

    it("stores no rotation of a token whose device logged out after it was taken", async () => {
      const phone = await login("u_1", "phone");
      expect(await repo.takeRefreshToken(phone.tokenHash, t0)).toMatchObject({ use: "fresh" });
      await repo.removeDevice("u_1", "phone");
      const late = token("u_1", "phone");
      expect(await repo.putRefreshToken(late, { newFamily: false, now: t0, replaces: phone.tokenHash })).toBe(false);
      expect(await repo.takeRefreshToken(late.tokenHash, t0)).toBeUndefined();
      expect(await repo.devicesOf(["u_1"])).toEqual([]);
    });

    it("revokes the device's earlier tokens on a new login, and keeps the device's first registration time", async () => {
      const first = await login("u_1", "phone", t0);
      const second = await login("u_1", "phone", t0 + 5);
      expect(await repo.takeRefreshToken(first.tokenHash, t0 + 6)).toBeUndefined();
      expect(await repo.takeRefreshToken(second.tokenHash, t0 + 6)).toMatchObject({ use: "fresh" });
      expect(await repo.devicesOf(["u_1"])).toEqual([{ userId: "u_1", deviceId: "phone", registeredAt: t0 }]);
    });

    it("leaves one working token after two logins of one device at once", async () => {
      const [a, b] = [token("u_1", "phone"), token("u_1", "phone")];
      await Promise.all([repo.putRefreshToken(a, { newFamily: true, now: t0 }), repo.putRefreshToken(b, { newFamily: true, now: t0 })]);
      const taken = await Promise.all([repo.takeRefreshToken(a.tokenHash, t0), repo.takeRefreshToken(b.tokenHash, t0)]);
      expect(taken.filter((t) => t?.use === "fresh")).toHaveLength(1);
      expect(taken.filter((t) => t === undefined)).toHaveLength(1);
      expect(await repo.devicesOf(["u_1"])).toHaveLength(1);
    });

    it("forgets a device on logout with its tokens, and nothing else; an unknown device is a no-op", async () => {
      const phone = await login("u_1", "phone");
      const laptop = await login("u_1", "laptop");
      await repo.removeDevice("u_1", "phone");
      await repo.removeDevice("u_1", "phone");
      await repo.removeDevice("u_9", "phone");
      expect(await repo.takeRefreshToken(phone.tokenHash, t0)).toBeUndefined();
      expect(await repo.devicesOf(["u_1"])).toEqual([{ userId: "u_1", deviceId: "laptop", registeredAt: t0 }]);
      expect(await repo.takeRefreshToken(laptop.tokenHash, t0)).toMatchObject({ use: "fresh" });
    });

    it("lists the registered devices of several users by user id, then device id", async () => {
      await login("u_2", "tablet", t0 + 3);
      await login("u_1", "phone", t0 + 1);
      await login("u_1", "laptop", t0 + 2);
      await login("u_3", "phone", t0 + 4);
      expect(await repo.devicesOf(["u_2", "u_1", "u_9"])).toEqual([
        { userId: "u_1", deviceId: "laptop", registeredAt: t0 + 2 },
        { userId: "u_1", deviceId: "phone", registeredAt: t0 + 1 },
        { userId: "u_2", deviceId: "tablet", registeredAt: t0 + 3 },
      ]);
      expect(await repo.devicesOf([])).toEqual([]);
    });
  });
}
