import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { PushRegistration } from "../domain/push-registration.js";
import type { AccountsRepositories } from "./accounts-repositories.js";
import type { StoredNotificationSettings } from "./notifications-repository.js";

/**
 * The contract every NotificationsRepository adapter passes: an adapter's test file calls it
 * with a factory of fresh, empty repositories. A registration needs a registered device, so
 * devices log in through the same repositories first. Registrations are stored as given:
 * validating and normalising them is the domain's job.
 */
export function notificationsRepositoryContract(adapter: string, open: () => Promise<AccountsRepositories>): void {
  describe(`NotificationsRepository contract: ${adapter}`, () => {
    let repo: AccountsRepositories;
    beforeEach(async () => {
      repo = await open();
    });
    afterEach(async () => {
      await repo.close();
    });

    const t0 = 1_700_000_000_000;
    const defaults: StoredNotificationSettings = { previews: false, doNotDisturb: undefined };
    const login = async (userId: string, deviceId: string): Promise<void> => {
      // Expires in wall-clock time, not t0's: MongoDB's TTL index deletes tokens past it mid-test.
      await repo.putRefreshToken({ tokenHash: randomBytes(16).toString("hex"), userId, deviceId, expiresAt: Date.now() + 3_600_000 }, { newFamily: true, now: t0 });
    };
    const webPush = (endpoint = `https://push.example/${randomBytes(8).toString("hex")}`): Extract<PushRegistration, { kind: "web_push" }> => ({
      kind: "web_push",
      endpoint,
      p256dh: randomBytes(65).toString("base64url"),
      auth: randomBytes(16).toString("base64url"),
    });
    const fcm = (token = `fcm-${randomBytes(8).toString("hex")}`): PushRegistration => ({ kind: "fcm", token });
    const apns = (token = randomBytes(32).toString("hex"), environment: "sandbox" | "production" = "production"): PushRegistration => ({ kind: "apns", token, environment });
    const holders = async (...userIds: string[]): Promise<string[]> => {
      const all = await Promise.all(userIds.map(async (u) => (await repo.pushRegistrations(u)).map((d) => `${u}/${d.deviceId}`)));
      return all.flat();
    };

    describe("push registrations", () => {
      it("stores one registration per registered device, the latest replacing the earlier, listed by device id", async () => {
        await login("u1", "phone");
        await login("u1", "laptop");
        const laptop = webPush();
        const phone = apns(undefined, "sandbox");
        expect(await repo.putPushRegistration("u1", "phone", fcm(), t0)).toBe("stored");
        expect(await repo.putPushRegistration("u1", "laptop", laptop, t0)).toBe("stored");
        expect(await repo.putPushRegistration("u1", "phone", phone, t0 + 1)).toBe("stored");
        expect(await repo.pushRegistrations("u1")).toEqual([
          { deviceId: "laptop", registration: laptop },
          { deviceId: "phone", registration: phone },
        ]);
        expect(await repo.pushRegistrations("u2")).toEqual([]);
      });

      it("refuses a device that never logged in, or logged out, storing nothing", async () => {
        expect(await repo.putPushRegistration("u1", "phone", fcm(), t0)).toBe("no_device");
        await login("u1", "phone");
        await repo.removeDevice("u1", "phone");
        expect(await repo.putPushRegistration("u1", "phone", fcm(), t0)).toBe("no_device");
        expect(await repo.pushRegistrations("u1")).toEqual([]);
      });

      it("forgets a device's registration with its logout, and frees its address", async () => {
        await login("u1", "phone");
        await login("u1", "laptop");
        const address = fcm();
        await repo.putPushRegistration("u1", "phone", address, t0);
        await repo.putPushRegistration("u1", "laptop", fcm(), t0);
        await repo.removeDevice("u1", "phone");
        expect(await holders("u1")).toEqual(["u1/laptop"]);
        await login("u2", "phone");
        await repo.putPushRegistration("u2", "phone", address, t0);
        expect(await holders("u1", "u2")).toEqual(["u1/laptop", "u2/phone"]);
      });

      it("gives an address to the device that registered it last, of any user, and to it alone", async () => {
        await login("u1", "browser");
        await login("u2", "browser");
        const shared = webPush();
        await repo.putPushRegistration("u1", "browser", shared, t0);
        await repo.putPushRegistration("u2", "browser", { ...webPush(), endpoint: shared.endpoint }, t0 + 1);
        expect(await holders("u1", "u2")).toEqual(["u2/browser"]);
        // The same token under another kind is another address.
        await login("u1", "phone");
        await login("u2", "phone");
        await repo.putPushRegistration("u1", "phone", fcm("same-token"), t0);
        await repo.putPushRegistration("u2", "phone", apns("same-token"), t0);
        expect(await holders("u1", "u2")).toEqual(["u1/phone", "u2/browser", "u2/phone"]);
      });

      it("does not take a device's new address when another device registers the one it left", async () => {
        await login("u1", "phone");
        await login("u2", "phone");
        const left = fcm();
        const moved = fcm();
        await repo.putPushRegistration("u1", "phone", left, t0);
        await repo.putPushRegistration("u1", "phone", moved, t0 + 1);
        await repo.putPushRegistration("u2", "phone", left, t0 + 2);
        expect(await repo.pushRegistrations("u1")).toEqual([{ deviceId: "phone", registration: moved }]);
        expect(await repo.pushRegistrations("u2")).toEqual([{ deviceId: "phone", registration: left }]);
      });

      it("leaves an address with exactly one of two devices registering it at once", async () => {
        await login("u1", "phone");
        await login("u2", "phone");
        const address = fcm();
        await Promise.all([repo.putPushRegistration("u1", "phone", address, t0), repo.putPushRegistration("u2", "phone", address, t0)]);
        expect(await holders("u1", "u2")).toHaveLength(1);
      });

      it("removes a registration, or only while it is exactly the one named", async () => {
        await login("u1", "phone");
        const registered = webPush();
        await repo.putPushRegistration("u1", "phone", registered, t0);
        expect(await repo.removePushRegistration("u1", "phone", webPush())).toBe(false);
        expect(await repo.removePushRegistration("u1", "phone", { ...registered, auth: randomBytes(16).toString("base64url") })).toBe(false);
        expect(await repo.removePushRegistration("u1", "laptop", registered)).toBe(false);
        expect(await repo.pushRegistrations("u1")).toHaveLength(1);
        expect(await repo.removePushRegistration("u1", "phone", registered)).toBe(true);
        expect(await repo.removePushRegistration("u1", "phone", registered)).toBe(false);
        await repo.putPushRegistration("u1", "phone", apns(), t0);
        expect(await repo.removePushRegistration("u1", "phone", apns())).toBe(false);
        expect(await repo.removePushRegistration("u1", "phone")).toBe(true);
        expect(await repo.removePushRegistration("u1", "phone")).toBe(false);
        expect(await repo.pushRegistrations("u1")).toEqual([]);
        // The device stays registered: it may register again.
        expect(await repo.putPushRegistration("u1", "phone", fcm(), t0)).toBe("stored");
      });

      it("frees a removed registration's address for another device", async () => {
        await login("u1", "phone");
        await login("u2", "phone");
        const address = apns();
        await repo.putPushRegistration("u1", "phone", address, t0);
        await repo.removePushRegistration("u1", "phone");
        await repo.putPushRegistration("u2", "phone", address, t0);
        await repo.putPushRegistration("u1", "phone", fcm(), t0);
        expect(await holders("u1", "u2")).toEqual(["u1/phone", "u2/phone"]);
      });
    });

    describe("notification settings", () => {
      it("have none until changed; a change applies over the stored settings or the defaults", async () => {
        expect(await repo.notificationSettings("u1")).toBeUndefined();
        expect(await repo.updateNotificationSettings("u1", { doNotDisturb: t0 + 10 }, defaults)).toEqual({ previews: false, doNotDisturb: t0 + 10 });
        expect(await repo.updateNotificationSettings("u1", { previews: true }, defaults)).toEqual({ previews: true, doNotDisturb: t0 + 10 });
        expect(await repo.updateNotificationSettings("u1", { doNotDisturb: "forever" }, defaults)).toEqual({ previews: true, doNotDisturb: "forever" });
        expect(await repo.notificationSettings("u1")).toEqual({ previews: true, doNotDisturb: "forever" });
        expect(await repo.updateNotificationSettings("u1", { doNotDisturb: null }, defaults)).toEqual({ previews: true, doNotDisturb: undefined });
        expect(await repo.notificationSettings("u1")).toEqual({ previews: true, doNotDisturb: undefined });
        expect(await repo.notificationSettings("u2")).toBeUndefined();
      });

      it("keep both of two concurrent changes of different fields", async () => {
        await Promise.all([repo.updateNotificationSettings("u1", { previews: true }, defaults), repo.updateNotificationSettings("u1", { doNotDisturb: "forever" }, defaults)]);
        expect(await repo.notificationSettings("u1")).toEqual({ previews: true, doNotDisturb: "forever" });
      });
    });

    describe("muted conversations", () => {
      it("hold a mute until its end, forever until unmuted; muting again replaces the end", async () => {
        expect(await repo.muteConversation("u1", "c1", t0 + 10, t0, 10)).toBe(true);
        expect(await repo.muteConversation("u1", "c2", "forever", t0, 10)).toBe(true);
        expect(await repo.mutedUntil("u1", "c1", t0 + 9)).toBe(t0 + 10);
        expect(await repo.mutedUntil("u1", "c1", t0 + 10)).toBeUndefined();
        expect(await repo.mutedUntil("u1", "c2", t0 + 1e9)).toBe("forever");
        expect(await repo.mutedUntil("u2", "c2", t0)).toBeUndefined();
        expect(await repo.muteConversation("u1", "c2", t0 + 20, t0, 10)).toBe(true);
        expect(await repo.mutedUntil("u1", "c2", t0)).toBe(t0 + 20);
        await repo.unmuteConversation("u1", "c2");
        await repo.unmuteConversation("u1", "c2");
        expect(await repo.mutedUntil("u1", "c2", t0)).toBeUndefined();
      });

      it("list the mutes in force by conversation id, after a cursor", async () => {
        for (const [c, until] of [
          ["c3", "forever"],
          ["c1", t0 + 10],
          ["c4", t0 + 1],
          ["c2", t0 + 20],
        ] as const) {
          await repo.muteConversation("u1", c, until, t0, 10);
        }
        expect(await repo.mutedConversations("u1", t0 + 5, "", 10)).toEqual([
          { conversationId: "c1", until: t0 + 10 },
          { conversationId: "c2", until: t0 + 20 },
          { conversationId: "c3", until: "forever" },
        ]);
        expect((await repo.mutedConversations("u1", t0 + 5, "c1", 1)).map((m) => m.conversationId)).toEqual(["c2"]);
        expect(await repo.mutedConversations("u2", t0, "", 10)).toEqual([]);
      });

      it("refuse a new mute past the limit, counting only mutes still in force, and change nothing then", async () => {
        await repo.muteConversation("u1", "c1", t0 + 10, t0, 2);
        await repo.muteConversation("u1", "c2", "forever", t0, 2);
        expect(await repo.muteConversation("u1", "c3", "forever", t0, 2)).toBe(false);
        expect(await repo.mutedUntil("u1", "c3", t0)).toBeUndefined();
        // Changing the end of a mute held is no new mute.
        expect(await repo.muteConversation("u1", "c2", t0 + 30, t0, 2)).toBe(true);
        // Once c1 has ended, there is room again.
        expect(await repo.muteConversation("u1", "c3", "forever", t0 + 10, 2)).toBe(true);
        expect((await repo.mutedConversations("u1", t0 + 10, "", 10)).map((m) => m.conversationId)).toEqual(["c2", "c3"]);
      });

      it("let one of two new mutes racing for the last place through", async () => {
        await repo.muteConversation("u1", "c1", "forever", t0, 2);
        const results = await Promise.all([repo.muteConversation("u1", "c2", "forever", t0, 2), repo.muteConversation("u1", "c3", "forever", t0, 2)]);
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await repo.mutedConversations("u1", t0, "", 10)).toHaveLength(2);
      });
    });
  });
}
