import { createECDH, randomBytes } from "node:crypto";
import { join } from "node:path";
import { createClient, createRouterTransport, type Client } from "@connectrpc/connect";
import { createAccountsApp, openSqliteAccountRepository, type AccountsApp } from "@messenger/accounts";
import { createTokenIssuer, createTokenVerifier } from "@messenger/auth";
import { createLogger } from "@messenger/logging";
import { PushTargetsService, type GetPushTargetsResponse } from "@messenger/proto/accounts/v1/push_targets_service";
import { ApnsEnvironment } from "@messenger/proto/accounts/v1/types";
import { PresenceAudienceService } from "@messenger/proto/presence/v1/presence_service";
import { StoreService } from "@messenger/proto/store/v1/store_service";
import type { MessengerClient, WebPushSubscriptionJson } from "@messenger/sdk";
import { newUser, startTestSystem, type TestSystem } from "@messenger/test-system";
import { codeOf } from "@messenger/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// Registrations and settings made through the SDK against the whole system, read back the way
// the push worker reads them: PushTargetsService. The test system mounts internal services on
// no port, so the probe is a second accounts app over the system's own accounts.db (SQLite
// in WAL mode: it sees every commit of the running system).

let sys: TestSystem;
let probe: AccountsApp;
let targets: Client<typeof PushTargetsService>;
const clients: MessengerClient[] = [];

beforeAll(async () => {
  sys = await startTestSystem();
  const unused = createRouterTransport(() => undefined);
  const issuer = await createTokenIssuer({ keyPath: join(sys.dataDir, "probe-key.json"), ttlSeconds: 60 });
  probe = createAccountsApp({
    repo: openSqliteAccountRepository(join(sys.dataDir, "accounts.db")),
    issuer,
    verifier: createTokenVerifier({ jwks: issuer.jwks() }),
    store: createClient(StoreService, unused),
    presence: createClient(PresenceAudienceService, unused),
    settings: { scryptLogN: 10, refreshTokenTtlSeconds: 60 },
    limits: { hashThreads: 1 },
    // The probe never runs the store retry loop: the system's own accounts does.
    setTimer: () => () => undefined,
    log: createLogger("notifications-probe", "silent"),
  });
  const internal = probe.routes.find((r) => r.service.typeName === PushTargetsService.typeName)!;
  targets = createClient(PushTargetsService, createRouterTransport((r) => r.service(internal.service, internal.impl)));
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await probe.close();
  await sys.dispose();
});

async function user(opts: { name?: string; deviceId?: string } = {}): Promise<MessengerClient> {
  const c = await newUser(sys.grpcUrl, opts);
  clients.push(c);
  return c;
}

/** A browser's PushSubscription.toJSON() on a push service. */
function subscription(endpoint: string): WebPushSubscriptionJson {
  const ecdh = createECDH("prime256v1");
  ecdh.generateKeys();
  return { endpoint, keys: { p256dh: ecdh.getPublicKey().toString("base64url"), auth: randomBytes(16).toString("base64url") } };
}

/** The devices as the push worker sees them: device id and the registration's case and value. */
function devicesOf(t: GetPushTargetsResponse): [string, string | undefined, unknown][] {
  return t.devices.map((d) => [d.deviceId, d.registration?.registration.case, d.registration?.registration.value]);
}

describe("notifications through the SDK", () => {
  it("registers and replaces each device's registration, and forgets it at logout", async () => {
    const phone = await user({ deviceId: "phone" });
    const laptop = await user({ name: phone.user!.username, deviceId: "laptop" });
    const userId = phone.user!.id;

    const web = subscription("https://updates.push.services.mozilla.com/wpush/v2/gAAAA");
    await phone.notifications.registerWebPush(web);
    expect(devicesOf(await targets.getPushTargets({ userId }))).toEqual([
      ["phone", "webPush", expect.objectContaining({ endpoint: web.endpoint, p256dh: web.keys.p256dh, auth: web.keys.auth })],
    ]);

    await phone.notifications.registerFcm("fcm-token-1");
    const apnsToken = randomBytes(32).toString("hex");
    await laptop.notifications.registerApns(apnsToken, "sandbox");
    expect(devicesOf(await targets.getPushTargets({ userId }))).toEqual([
      ["laptop", "apns", expect.objectContaining({ token: apnsToken, environment: ApnsEnvironment.SANDBOX })],
      ["phone", "fcm", expect.objectContaining({ token: "fcm-token-1" })],
    ]);

    // A plain-http push service is refused (this system does not allow insecure endpoints).
    expect(await codeOf(phone.notifications.registerWebPush(subscription("http://127.0.0.1:9/push")))).toBe("InvalidArgument");
    expect(await codeOf(phone.notifications.registerApns("not-hex", "production"))).toBe("InvalidArgument");

    await phone.logout();
    expect(devicesOf(await targets.getPushTargets({ userId }))).toEqual([["laptop", "apns", expect.objectContaining({ token: apnsToken })]]);
    await laptop.notifications.unregister();
    expect((await targets.getPushTargets({ userId })).devices).toEqual([]);
  });

  it("keeps notification settings, content-free and undisturbed by default", async () => {
    const ann = await user();
    const userId = ann.user!.id;
    expect(await ann.notifications.getSettings()).toEqual({ previews: false, doNotDisturb: "off" });
    expect(await targets.getPushTargets({ userId })).toMatchObject({ previews: false, doNotDisturb: false });

    expect(await ann.notifications.updateSettings({ previews: true })).toEqual({ previews: true, doNotDisturb: "off" });
    const until = new Date(Date.now() + 3_600_000);
    expect(await ann.notifications.updateSettings({ doNotDisturb: until })).toEqual({ previews: true, doNotDisturb: until });
    expect(await targets.getPushTargets({ userId })).toMatchObject({ previews: true, doNotDisturb: true });

    expect(await ann.notifications.updateSettings({ doNotDisturb: "forever" })).toEqual({ previews: true, doNotDisturb: "forever" });
    expect(await codeOf(ann.notifications.updateSettings({ doNotDisturb: new Date(Date.now() - 1000) }))).toBe("InvalidArgument");
    expect(await ann.notifications.updateSettings({ doNotDisturb: "off", previews: false })).toEqual({ previews: false, doNotDisturb: "off" });
    expect(await targets.getPushTargets({ userId })).toMatchObject({ previews: false, doNotDisturb: false });
  });

  it("mutes a conversation until a time or forever, lists the mutes, and unmutes", async () => {
    const ann = await user();
    const bob = await user();
    const userId = ann.user!.id;
    const direct = await ann.openDirect(bob.user!.id);
    const group = await ann.createGroup("book club", [bob.user!.id]);

    expect(await ann.notifications.mute(direct.id)).toEqual({ conversationId: direct.id, until: "forever" });
    const until = new Date(Date.now() + 3_600_000);
    expect(await ann.notifications.mute(group.id, until)).toEqual({ conversationId: group.id, until });
    const muted = await ann.notifications.muted();
    expect(muted.items).toEqual(expect.arrayContaining([{ conversationId: direct.id, until: "forever" }, { conversationId: group.id, until }]));
    expect(muted.items).toHaveLength(2);

    expect((await targets.getPushTargets({ userId, conversationId: direct.id })).muted).toBe(true);
    expect((await targets.getPushTargets({ userId: bob.user!.id, conversationId: direct.id })).muted).toBe(false);
    await ann.notifications.unmute(direct.id);
    expect((await targets.getPushTargets({ userId, conversationId: direct.id })).muted).toBe(false);
    expect((await targets.getPushTargets({ userId, conversationId: group.id })).muted).toBe(true);
    expect((await ann.notifications.muted()).items).toEqual([{ conversationId: group.id, until }]);
  });
});
