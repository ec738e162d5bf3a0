import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { SessionRegistry } from "./session-registry.js";

/**
 * The one contract of the session registry port. `open(ttlMs)` returns an empty registry;
 * `peer()` another handle on the registry `open` made last, as a second presence replica
 * holds (its own connection for a distributed adapter; for the in-process one, the same
 * registry seen by a second caller).
 */
export function sessionRegistryContract(
  adapter: string,
  open: (ttlMs: number) => Promise<SessionRegistry>,
  peer: () => Promise<SessionRegistry>,
): void {
  describe(`SessionRegistry contract: ${adapter}`, () => {
    const ttlMs = 1_000;
    let reg: SessionRegistry;
    const peers: SessionRegistry[] = [];
    const openPeer = async (): Promise<SessionRegistry> => {
      const p = await peer();
      peers.push(p);
      return p;
    };
    beforeEach(async () => {
      reg = await open(ttlMs);
    });
    afterEach(async () => {
      for (const p of peers.splice(0)) await p.close();
      await reg.close();
    });
    const rec = (sessionId: string, userId: string, gatewayId = "gw-a", deviceId = "phone") => ({ sessionId, userId, deviceId, gatewayId });

    it("finds every live session of the given users, across gateways", async () => {
      await reg.put(rec("s1", "alice"));
      await reg.put(rec("s2", "alice", "gw-b", "laptop"));
      await reg.put(rec("s3", "bob"));
      const found = await reg.sessionsOf(["alice"]);
      expect(found.map((s) => s.sessionId).sort()).toEqual(["s1", "s2"]);
      expect(found.find((s) => s.sessionId === "s2")?.gatewayId).toBe("gw-b");
      expect(await reg.sessionsOf(["carol"])).toEqual([]);
    });

    it("removes a session and returns what it was", async () => {
      await reg.put(rec("s1", "alice"));
      expect(await reg.remove("s1")).toEqual(rec("s1", "alice"));
      expect(await reg.remove("s1")).toBeUndefined();
      expect(await reg.sessionsOf(["alice"])).toEqual([]);
    });

    it("expires the sessions of a gateway that stops refreshing, and keeps those of one that refreshes", async () => {
      await reg.put(rec("s1", "alice", "gw-a"));
      await reg.put(rec("s2", "bob", "gw-b"));
      const deadline = Date.now() + ttlMs * 2;
      while (Date.now() < deadline) {
        expect(await reg.refresh("gw-b", ["s2"])).toEqual([]);
        await new Promise((r) => setTimeout(r, ttlMs / 4));
      }
      const expired = await reg.expire();
      expect(expired.map((s) => s.sessionId)).toEqual(["s1"]);
      expect((await reg.sessionsOf(["alice", "bob"])).map((s) => s.sessionId)).toEqual(["s2"]);
    });

    it("reports sessions it does not know on refresh, so the gateway can register them again", async () => {
      await reg.put(rec("s1", "alice", "gw-a"));
      expect(await reg.refresh("gw-a", ["s1", "s9"])).toEqual(["s9"]);
    });
  
    it("hands each dead session to exactly one of several replicas expiring at once", async () => {
      const other = await openPeer();
      const users = Array.from({ length: 20 }, (_, i) => `user-${i}`);
      for (const u of users) await reg.put(rec(`s-${u}`, u, "gw-dead"));
      await reg.put(rec("s-live", "zed", "gw-live"));
      // Both see every session before the dead gateway's lease lapses.
      expect(await other.sessionsOf([...users, "zed"])).toHaveLength(21);
      const deadline = Date.now() + ttlMs * 1.5;
      while (Date.now() < deadline) {
        await reg.refresh("gw-live", ["s-live"]);
        await new Promise((r) => setTimeout(r, ttlMs / 4));
      }
      await reg.refresh("gw-live", ["s-live"]);
      const [a, b] = await Promise.all([reg.expire(), other.expire()]);
      const claimed = [...a, ...b].map((s) => s.sessionId).sort();
      expect(claimed).toEqual(users.map((u) => `s-${u}`).sort());
      // Once gone, nobody reports them again.
      expect([...(await reg.expire()), ...(await other.expire())]).toEqual([]);
      expect((await other.sessionsOf([...users, "zed"])).map((s) => s.sessionId)).toEqual(["s-live"]);
    });

    it("hands a session removed through two replicas at once to one of them", async () => {
      const other = await openPeer();
      for (let i = 0; i < 10; i++) await reg.put(rec(`s${i}`, "alice"));
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => [reg.remove(`s${i}`), other.remove(`s${i}`)]).flat());
      const returned = results.filter((r) => r !== undefined).map((r) => r.sessionId).sort();
      expect(returned).toEqual(Array.from({ length: 10 }, (_, i) => `s${i}`).sort());
      expect(await reg.sessionsOf(["alice"])).toEqual([]);
    });

    it("removes, through any replica, a session another one registered", async () => {
      const other = await openPeer();
      await reg.put(rec("s1", "alice"));
      expect(await other.remove("s1")).toEqual(rec("s1", "alice"));
      expect(await reg.sessionsOf(["alice"])).toEqual([]);
    });
  });
}
