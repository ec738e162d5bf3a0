import { createECDH, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AccountsRepositories } from "../storage/accounts-repositories.js";
import { openSqliteAccountRepository } from "../storage/sqlite-account-repository.js";
import { refusal } from "./contacts-fixture.js";
import { Notifications, type NotificationsOptions } from "./notifications.js";
import type { PushRegistration } from "./push-registration.js";

let dir: string;
let file: string;
let repo: AccountsRepositories;
const clock = { now: 1_700_000_000_000 };
const hour = 3_600_000;

function open(options: Partial<NotificationsOptions> = {}): Notifications {
  repo = openSqliteAccountRepository(file);
  return new Notifications(repo, { allowInsecureEndpoints: false, ...options }, () => clock.now);
}

let n: Notifications;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "messenger-notifications-"));
  file = join(dir, "accounts.db");
  clock.now = 1_700_000_000_000;
  n = open();
});
afterEach(async () => {
  await repo.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Logs a device in, which registers it. */
async function login(userId: string, deviceId: string): Promise<void> {
  await repo.putRefreshToken({ tokenHash: randomBytes(16).toString("hex"), userId, deviceId, expiresAt: clock.now + hour }, { newFamily: true, now: clock.now });
}

function webPush(endpoint = `https://push.example/${randomBytes(8).toString("hex")}`): Extract<PushRegistration, { kind: "web_push" }> {
  const ecdh = createECDH("prime256v1");
  ecdh.generateKeys();
  return { kind: "web_push", endpoint, p256dh: ecdh.getPublicKey().toString("base64url"), auth: randomBytes(16).toString("base64url") };
}
const fcm = (token = `fcm-${randomBytes(8).toString("hex")}`): PushRegistration => ({ kind: "fcm", token });
const apns = (): PushRegistration => ({ kind: "apns", token: randomBytes(32).toString("hex"), environment: "production" });

describe("push registrations", () => {
  it("stores one registration per device, the latest of any kind replacing the earlier", async () => {
    await login("u1", "phone");
    await login("u1", "laptop");
    const first = webPush();
    await n.registerPush("u1", "laptop", first);
    await n.registerPush("u1", "phone", fcm("tok-1"));
    await n.registerPush("u1", "phone", apns());
    const second = apns();
    await n.registerPush("u1", "phone", second);
    expect((await n.targets("u1", "")).devices).toEqual([
      { deviceId: "laptop", registration: first },
      { deviceId: "phone", registration: second },
    ]);
  });

  it("refuses a malformed registration with INVALID_ARGUMENT and keeps the one stored", async () => {
    await login("u1", "phone");
    const kept = fcm();
    await n.registerPush("u1", "phone", kept);
    expect(await refusal(n.registerPush("u1", "phone", { ...webPush(), endpoint: "http://push.example/1" }))).toBe("invalid_argument");
    expect(await refusal(n.registerPush("u1", "phone", { kind: "apns", token: "ab".repeat(32), environment: "" }))).toBe("invalid_argument");
    expect(await refusal(n.registerPush("u1", "phone", undefined))).toBe("invalid_argument");
    expect((await n.targets("u1", "")).devices).toEqual([{ deviceId: "phone", registration: kept }]);
  });

  it("accepts an http endpoint only when insecure endpoints are allowed", async () => {
    await repo.close();
    n = open({ allowInsecureEndpoints: true });
    await login("u1", "browser");
    const local = webPush("http://127.0.0.1:9999/push/1");
    await n.registerPush("u1", "browser", local);
    expect((await n.targets("u1", "")).devices).toEqual([{ deviceId: "browser", registration: local }]);
  });

  it("refuses a device that is not registered (never logged in, or logged out) with FAILED_PRECONDITION", async () => {
    expect(await refusal(n.registerPush("u1", "phone", fcm()))).toBe("failed_precondition");
    await login("u1", "phone");
    await repo.removeDevice("u1", "phone");
    expect(await refusal(n.registerPush("u1", "phone", fcm()))).toBe("failed_precondition");
    expect((await n.targets("u1", "")).devices).toEqual([]);
  });

  it("forgets the registration when the device logs out, and only that device's", async () => {
    await login("u1", "phone");
    await login("u1", "laptop");
    await n.registerPush("u1", "phone", fcm());
    const laptop = webPush();
    await n.registerPush("u1", "laptop", laptop);
    await repo.removeDevice("u1", "phone");
    expect((await n.targets("u1", "")).devices).toEqual([{ deviceId: "laptop", registration: laptop }]);
  });

  it("unregisters the calling device, idempotently", async () => {
    await login("u1", "phone");
    await n.registerPush("u1", "phone", fcm());
    await n.unregisterPush("u1", "phone");
    await n.unregisterPush("u1", "phone");
    expect((await n.targets("u1", "")).devices).toEqual([]);
  });

  it("gives an address to the device that registered it last, taking it from another user", async () => {
    await login("u1", "browser");
    await login("u2", "browser");
    const shared = webPush();
    await n.registerPush("u1", "browser", shared);
    // u1 never logged out; u2 signs in on the same browser profile, whose subscription is the same.
    await n.registerPush("u2", "browser", { ...webPush(), endpoint: shared.endpoint });
    expect((await n.targets("u1", "")).devices).toEqual([]);
    expect((await n.targets("u2", "")).devices.map((d) => d.deviceId)).toEqual(["browser"]);
  });

  it("removes a registration a provider refused only while the device still holds that one", async () => {
    await login("u1", "phone");
    const old = webPush();
    await n.registerPush("u1", "phone", old);
    const renewed = webPush();
    await n.registerPush("u1", "phone", renewed);
    expect(await n.removeRegistration("u1", "phone", old)).toBe(false);
    expect(await n.removeRegistration("u1", "phone", { ...renewed, auth: webPush().auth })).toBe(false);
    expect(await n.removeRegistration("u1", "laptop", renewed)).toBe(false);
    expect((await n.targets("u1", "")).devices).toEqual([{ deviceId: "phone", registration: renewed }]);
    expect(await n.removeRegistration("u1", "phone", { ...renewed, p256dh: `${renewed.p256dh}=` })).toBe(true);
    expect((await n.targets("u1", "")).devices).toEqual([]);
    expect(await n.removeRegistration("u1", "phone", renewed)).toBe(false);
  });

  it("matches an APNs token whatever its case, and only in its environment", async () => {
    await login("u1", "phone");
    const token = randomBytes(32).toString("hex");
    await n.registerPush("u1", "phone", { kind: "apns", token, environment: "sandbox" });
    expect(await n.removeRegistration("u1", "phone", { kind: "apns", token, environment: "production" })).toBe(false);
    expect(await n.removeRegistration("u1", "phone", { kind: "apns", token: token.toUpperCase(), environment: "sandbox" })).toBe(true);
  });

  it("keeps registrations and settings across a reopen, and gives a file from before push the new tables", async () => {
    await login("u1", "phone");
    const reg = fcm();
    await n.registerPush("u1", "phone", reg);
    await n.updateSettings("u1", { previews: true, doNotDisturb: { forever: false } }, ["previews"]);
    await repo.close();
    n = open();
    expect(await n.targets("u1", "")).toMatchObject({ devices: [{ deviceId: "phone", registration: reg }], previews: true });
    await repo.close();

    const db = new Database(file);
    db.exec("DROP TABLE push_registrations; DROP TABLE notification_settings; DROP TABLE muted_conversations;");
    db.close();
    n = open();
    expect(await n.targets("u1", "c1")).toEqual({ devices: [], previews: false, doNotDisturb: false, muted: false });
    await n.registerPush("u1", "phone", reg);
    expect((await n.targets("u1", "")).devices).toHaveLength(1);
  });
});

describe("notification settings", () => {
  it("default to content-free notifications and no do-not-disturb", async () => {
    expect(await n.settings("u1")).toEqual({ previews: false, doNotDisturb: undefined });
    expect(await n.targets("u1", "c1")).toEqual({ devices: [], previews: false, doNotDisturb: false, muted: false });
  });

  it("change only the fields the mask names", async () => {
    expect(await n.updateSettings("u1", { previews: true, doNotDisturb: { forever: true } }, ["previews"])).toEqual({ previews: true, doNotDisturb: undefined });
    expect(await n.updateSettings("u1", { previews: false, doNotDisturb: { forever: true } }, ["do_not_disturb_forever"])).toEqual({ previews: true, doNotDisturb: "forever" });
    expect(await n.updateSettings("u1", { previews: false, doNotDisturb: { forever: false } }, [])).toEqual({ previews: false, doNotDisturb: undefined });
    expect(await refusal(n.updateSettings("u1", { previews: true, doNotDisturb: { forever: false } }, ["preview"]))).toBe("invalid_argument");
    expect(await n.settings("u1")).toEqual({ previews: false, doNotDisturb: undefined });
  });

  it("hold do-not-disturb until its time, then read it as off", async () => {
    const until = clock.now + hour;
    await n.updateSettings("u1", { previews: false, doNotDisturb: { untilMs: until, forever: false } }, ["do_not_disturb_until"]);
    expect(await n.settings("u1")).toEqual({ previews: false, doNotDisturb: until });
    expect((await n.targets("u1", "")).doNotDisturb).toBe(true);
    clock.now = until;
    expect(await n.settings("u1")).toEqual({ previews: false, doNotDisturb: undefined });
    expect((await n.targets("u1", "")).doNotDisturb).toBe(false);
  });

  it("hold do-not-disturb forever until turned off", async () => {
    await n.updateSettings("u1", { previews: false, doNotDisturb: { forever: true } }, ["do_not_disturb_forever"]);
    clock.now += 1000 * 24 * hour;
    expect((await n.targets("u1", "")).doNotDisturb).toBe(true);
    await n.updateSettings("u1", { previews: false, doNotDisturb: { forever: false } }, ["do_not_disturb_until"]);
    expect((await n.targets("u1", "")).doNotDisturb).toBe(false);
  });

  it("refuse a do-not-disturb time in the past, or given with forever, and change nothing", async () => {
    await n.updateSettings("u1", { previews: true, doNotDisturb: { forever: false } }, ["previews"]);
    expect(await refusal(n.updateSettings("u1", { previews: false, doNotDisturb: { untilMs: clock.now, forever: false } }, []))).toBe("invalid_argument");
    expect(await refusal(n.updateSettings("u1", { previews: false, doNotDisturb: { untilMs: clock.now + hour, forever: true } }, []))).toBe("invalid_argument");
    expect(await n.settings("u1")).toEqual({ previews: true, doNotDisturb: undefined });
  });
});

describe("muted conversations", () => {
  it("mute a conversation until its time, then no more", async () => {
    const mute = await n.mute("u1", "c1", { untilMs: clock.now + hour, forever: false });
    expect(mute).toEqual({ conversationId: "c1", until: clock.now + hour });
    expect((await n.targets("u1", "c1")).muted).toBe(true);
    expect((await n.targets("u1", "c2")).muted).toBe(false);
    expect((await n.targets("u2", "c1")).muted).toBe(false);
    clock.now += hour;
    expect((await n.targets("u1", "c1")).muted).toBe(false);
    expect((await n.listMuted("u1", 0, "")).items).toEqual([]);
  });

  it("mute forever until unmuted; muting again replaces the end", async () => {
    await n.mute("u1", "c1", { forever: true });
    clock.now += 10_000 * 24 * hour;
    expect((await n.targets("u1", "c1")).muted).toBe(true);
    await n.mute("u1", "c1", { untilMs: clock.now + hour, forever: false });
    expect((await n.listMuted("u1", 0, "")).items).toEqual([{ conversationId: "c1", until: clock.now + hour }]);
    await n.unmute("u1", "c1");
    await n.unmute("u1", "c1");
    expect((await n.targets("u1", "c1")).muted).toBe(false);
  });

  it("refuse a mute with no end, both ends, an end in the past, or a bad conversation id", async () => {
    expect(await refusal(n.mute("u1", "c1", { forever: false }))).toBe("invalid_argument");
    expect(await refusal(n.mute("u1", "c1", { untilMs: clock.now + hour, forever: true }))).toBe("invalid_argument");
    expect(await refusal(n.mute("u1", "c1", { untilMs: clock.now - 1, forever: false }))).toBe("invalid_argument");
    expect(await refusal(n.mute("u1", "", { forever: true }))).toBe("invalid_argument");
    expect(await refusal(n.mute("u1", "c".repeat(129), { forever: true }))).toBe("invalid_argument");
    expect((await n.listMuted("u1", 0, "")).items).toEqual([]);
  });

  it("list the mutes in force in pages by conversation id", async () => {
    for (const id of ["c3", "c1", "c5", "c2", "c4"]) await n.mute("u1", id, { forever: true });
    await n.mute("u1", "c0", { untilMs: clock.now + 1, forever: false });
    clock.now += 1;
    const first = await n.listMuted("u1", 2, "");
    expect(first.items.map((m) => m.conversationId)).toEqual(["c1", "c2"]);
    const second = await n.listMuted("u1", 2, first.nextPageToken);
    expect(second.items.map((m) => m.conversationId)).toEqual(["c3", "c4"]);
    const last = await n.listMuted("u1", 2, second.nextPageToken);
    expect(last).toEqual({ items: [{ conversationId: "c5", until: "forever" }], nextPageToken: "" });
    expect(await refusal(n.listMuted("u1", 2, "junk"))).toBe("invalid_argument");
  });

  it("refuse a new mute past the limit, counting only mutes still in force", async () => {
    await repo.close();
    n = open({ maxMutedConversations: 2 });
    await n.mute("u1", "c1", { forever: true });
    await n.mute("u1", "c2", { untilMs: clock.now + hour, forever: false });
    expect(await refusal(n.mute("u1", "c3", { forever: true }))).toBe("resource_exhausted");
    await n.mute("u1", "c2", { forever: true });
    await n.mute("u2", "c3", { forever: true });
    await n.mute("u1", "c2", { untilMs: clock.now + hour, forever: false });
    clock.now += hour;
    await n.mute("u1", "c3", { forever: true });
    expect((await n.listMuted("u1", 0, "")).items.map((m) => m.conversationId)).toEqual(["c1", "c3"]);
  });
});
