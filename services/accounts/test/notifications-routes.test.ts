import { createECDH, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { createClient, createRouterTransport, type Client } from "@connectrpc/connect";
import { createTokenIssuer, createTokenVerifier, type TokenIssuer } from "@messenger/auth";
import { createLogger } from "@messenger/logging";
import { AccountsService } from "@messenger/proto/accounts/v1/accounts_service";
import { NotificationsService } from "@messenger/proto/accounts/v1/notifications_service";
import { PushTargetsService } from "@messenger/proto/accounts/v1/push_targets_service";
import { ApnsEnvironment } from "@messenger/proto/accounts/v1/types";
import { PresenceAudienceService } from "@messenger/proto/presence/v1/presence_service";
import { StoreService } from "@messenger/proto/store/v1/store_service";
import { instrumentRoute } from "@messenger/rpc";
import { codeOf } from "@messenger/testing";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createAccountsApp, openSqliteAccountRepository, type AccountsApp } from "../src/index.js";

// NotificationsService and PushTargetsService served as every transport serves them (through
// instrumentRoute, which maps domain errors to statuses), over Connect's in-memory transport
// and a real SQLite file.

const dir = mkdtempSync(join(tmpdir(), "messenger-notifications-routes-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const log = createLogger("notifications-routes-test", "silent");

let issuer: TokenIssuer;
beforeAll(async () => {
  issuer = await createTokenIssuer({ keyPath: join(dir, "key.json"), ttlSeconds: 600 });
});

let run = 0;
let app: AccountsApp;
let accounts: Client<typeof AccountsService>;
let notifications: Client<typeof NotificationsService>;
let targets: Client<typeof PushTargetsService>;

function openApp(allowInsecurePushEndpoints: boolean): void {
  const unused = createRouterTransport(() => undefined);
  app = createAccountsApp({
    repo: openSqliteAccountRepository(join(dir, `accounts-${run++}.db`)),
    issuer,
    verifier: createTokenVerifier({ jwks: issuer.jwks() }),
    store: createClient(StoreService, unused),
    presence: createClient(PresenceAudienceService, unused),
    settings: { scryptLogN: 10, refreshTokenTtlSeconds: 3600 },
    limits: { hashThreads: 1, allowInsecurePushEndpoints },
    setTimer: () => () => undefined,
    log,
  });
  const routes = app.routes.map((r) => instrumentRoute(r, log));
  const transport = createRouterTransport((r) => {
    for (const route of routes) r.service(route.service, route.impl);
  });
  accounts = createClient(AccountsService, transport);
  notifications = createClient(NotificationsService, transport);
  targets = createClient(PushTargetsService, transport);
}

beforeEach(() => openApp(false));
afterEach(() => app.close());

async function signUp(username: string, deviceId = "phone"): Promise<{ id: string; as: { headers: { authorization: string } } }> {
  await accounts.register({ username, password: "correct horse", displayName: username }).catch(() => undefined);
  const { user, tokens } = await accounts.login({ username, password: "correct horse", deviceId });
  return { id: user!.id, as: { headers: { authorization: `Bearer ${tokens!.accessToken}` } } };
}

function subscription(endpoint = `https://push.example/${randomBytes(6).toString("hex")}`): { endpoint: string; p256dh: string; auth: string } {
  const ecdh = createECDH("prime256v1");
  ecdh.generateKeys();
  return { endpoint, p256dh: ecdh.getPublicKey().toString("base64url"), auth: randomBytes(16).toString("base64url") };
}

describe("NotificationsService and PushTargetsService routes", () => {
  it("registers the token's device and answers the push worker with it", async () => {
    const ann = await signUp("ann");
    const laptop = await signUp("ann", "laptop");
    const web = subscription();
    const apnsToken = randomBytes(32).toString("hex");
    expect(await codeOf(notifications.registerPush({ registration: { registration: { case: "fcm", value: { token: "t" } } } }))).toBe("Unauthenticated");
    await notifications.registerPush({ registration: { registration: { case: "webPush", value: web } } }, laptop.as);
    await notifications.registerPush({ registration: { registration: { case: "apns", value: { token: apnsToken, environment: ApnsEnvironment.SANDBOX } } } }, ann.as);

    const got = await targets.getPushTargets({ userId: ann.id, conversationId: "c1" });
    expect(got.devices.map((d) => [d.deviceId, d.registration?.registration])).toEqual([
      ["laptop", { case: "webPush", value: expect.objectContaining(web) }],
      ["phone", { case: "apns", value: expect.objectContaining({ token: apnsToken, environment: ApnsEnvironment.SANDBOX }) }],
    ]);
    expect(got).toMatchObject({ previews: false, doNotDisturb: false, muted: false, senderDisplayName: "" });
    // A preview names its sender: the worker asks for the name with the targets.
    expect((await targets.getPushTargets({ userId: ann.id, conversationId: "c1", senderUserId: ann.id })).senderDisplayName).toBe("ann");
    expect((await targets.getPushTargets({ userId: ann.id, senderUserId: "u_nobody" })).senderDisplayName).toBe("");
    expect(await codeOf(targets.getPushTargets({ userId: "" }))).toBe("InvalidArgument");
  });

  it("answers a malformed registration with INVALID_ARGUMENT and a logged-out device's with FAILED_PRECONDITION", async () => {
    const ann = await signUp("ann");
    const reg = (value: { token: string; environment: ApnsEnvironment }) => ({ registration: { registration: { case: "apns" as const, value } } });
    expect(await codeOf(notifications.registerPush(reg({ token: "ab".repeat(32), environment: ApnsEnvironment.UNSPECIFIED }), ann.as))).toBe("InvalidArgument");
    expect(await codeOf(notifications.registerPush({}, ann.as))).toBe("InvalidArgument");
    expect(await codeOf(notifications.registerPush({ registration: { registration: { case: "webPush", value: subscription("http://127.0.0.1:1/p") } } }, ann.as))).toBe(
      "InvalidArgument",
    );
    await notifications.registerPush({ registration: { registration: { case: "fcm", value: { token: "before-logout" } } } }, ann.as);
    await accounts.logout({}, ann.as);
    expect((await targets.getPushTargets({ userId: ann.id })).devices).toEqual([]);
    // The access token outlives the logout; the device must not come back through it.
    expect(await codeOf(notifications.registerPush({ registration: { registration: { case: "fcm", value: { token: "after-logout" } } } }, ann.as))).toBe(
      "FailedPrecondition",
    );
  });

  it("accepts an http endpoint when the service is configured for local push services", async () => {
    await app.close();
    openApp(true);
    const ann = await signUp("ann");
    await notifications.registerPush({ registration: { registration: { case: "webPush", value: subscription("http://127.0.0.1:9/push") } } }, ann.as);
    expect((await targets.getPushTargets({ userId: ann.id })).devices).toHaveLength(1);
  });

  it("removes a registration for the worker only while it is the one named", async () => {
    const ann = await signUp("ann");
    const register = (token: string) => notifications.registerPush({ registration: { registration: { case: "fcm", value: { token } } } }, ann.as);
    await register("old");
    const [stale] = (await targets.getPushTargets({ userId: ann.id })).devices;
    await register("new");
    expect(await targets.removePushRegistration({ userId: ann.id, deviceId: "phone", registration: stale!.registration! })).toEqual(expect.objectContaining({ removed: false }));
    const [current] = (await targets.getPushTargets({ userId: ann.id })).devices;
    expect(current?.registration?.registration).toMatchObject({ case: "fcm", value: { token: "new" } });
    expect(await targets.removePushRegistration({ userId: ann.id, deviceId: "phone", registration: current!.registration! })).toEqual(expect.objectContaining({ removed: true }));
    expect((await targets.getPushTargets({ userId: ann.id })).devices).toEqual([]);
    expect(await codeOf(targets.removePushRegistration({ userId: ann.id, deviceId: "phone" }))).toBe("InvalidArgument");
    await register("again");
    await notifications.unregisterPush({}, ann.as);
    expect((await targets.getPushTargets({ userId: ann.id })).devices).toEqual([]);
  });

  it("round-trips settings through the field mask and answers the worker with what is in force", async () => {
    const ann = await signUp("ann");
    expect((await notifications.getNotificationSettings({}, ann.as)).settings).toMatchObject({ previews: false, doNotDisturbForever: false });
    expect((await notifications.getNotificationSettings({}, ann.as)).settings?.doNotDisturbUntil).toBeUndefined();
    const until = Date.now() + 3_600_000;
    const updated = await notifications.updateNotificationSettings({ settings: { previews: true, doNotDisturbUntil: timestampFromMs(until) } }, ann.as);
    expect(updated.settings).toMatchObject({ previews: true, doNotDisturbForever: false });
    expect(timestampMs(updated.settings!.doNotDisturbUntil!)).toBe(until);
    expect(await targets.getPushTargets({ userId: ann.id })).toMatchObject({ previews: true, doNotDisturb: true });

    await notifications.updateNotificationSettings({ settings: { doNotDisturbForever: true }, updateMask: ["do_not_disturb_forever"] }, ann.as);
    const forever = (await notifications.getNotificationSettings({}, ann.as)).settings;
    expect(forever).toMatchObject({ previews: true, doNotDisturbForever: true });
    expect(forever?.doNotDisturbUntil).toBeUndefined();

    expect(await codeOf(notifications.updateNotificationSettings({ settings: {}, updateMask: ["sound"] }, ann.as))).toBe("InvalidArgument");
    const past = timestampFromMs(Date.now() - 1000);
    expect(await codeOf(notifications.updateNotificationSettings({ settings: { doNotDisturbUntil: past } }, ann.as))).toBe("InvalidArgument");
    await notifications.updateNotificationSettings({ settings: {}, updateMask: ["do_not_disturb_until"] }, ann.as);
    expect(await targets.getPushTargets({ userId: ann.id })).toMatchObject({ previews: true, doNotDisturb: false });
  });

  it("mutes, lists and unmutes conversations, and tells the worker which one is muted", async () => {
    const ann = await signUp("ann");
    const until = Date.now() + 3_600_000;
    const timed = await notifications.muteConversation({ conversationId: "c1", until: timestampFromMs(until) }, ann.as);
    expect(timed.muted).toMatchObject({ conversationId: "c1", forever: false });
    expect(timestampMs(timed.muted!.until!)).toBe(until);
    await notifications.muteConversation({ conversationId: "c2", forever: true }, ann.as);
    expect(await codeOf(notifications.muteConversation({ conversationId: "c3" }, ann.as))).toBe("InvalidArgument");

    const page = await notifications.listMutedConversations({ pageSize: 1 }, ann.as);
    expect(page.conversations.map((m) => m.conversationId)).toEqual(["c1"]);
    const rest = await notifications.listMutedConversations({ pageSize: 1, pageToken: page.nextPageToken }, ann.as);
    expect(rest.conversations).toEqual([expect.objectContaining({ conversationId: "c2", forever: true })]);
    expect(rest.nextPageToken).toBe("");

    expect((await targets.getPushTargets({ userId: ann.id, conversationId: "c2" })).muted).toBe(true);
    expect((await targets.getPushTargets({ userId: ann.id, conversationId: "c3" })).muted).toBe(false);
    await notifications.unmuteConversation({ conversationId: "c2" }, ann.as);
    expect((await targets.getPushTargets({ userId: ann.id, conversationId: "c2" })).muted).toBe(false);
  });
});
