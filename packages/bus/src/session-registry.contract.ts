import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { SessionRegistry } from "./session-registry.js";

/**
 * The one contract of the session registry port. `open(ttlMs)` returns an empty registry.
 */
export function sessionRegistryContract(
  adapter: string,
  open: (ttlMs: number) => Promise<SessionRegistry>,
): void {
  describe(`SessionRegistry contract: ${adapter}`, () => {
    const ttlMs = 1_000;
    let reg: SessionRegistry;
    beforeEach(async () => {
      reg = await open(ttlMs);
    });
    afterEach(async () => {
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
  });
}
