import { createPrivateKey, generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, parseEnv, z } from "@messenger/config";
import webpush from "web-push";
import { FakeApns } from "../../test/fakes/fake-apns.js";
import { FakeFcm } from "../../test/fakes/fake-fcm.js";
import { FakeWebPushService } from "../../test/fakes/fake-web-push-service.js";
import { messageNotification } from "../../test/notifications.js";
import { providersEnv, providersFromEnv } from "./providers-env.js";
import { vapidKeysPath } from "./vapid-keys.js";

const root = mkdtempSync(join(tmpdir(), "push-providers-env-"));
let n = 0;
const dataDir = (): string => join(root, `data-${++n}`);
afterAll(() => rmSync(root, { recursive: true, force: true }));
const parse = (env: Record<string, string>) => parseEnv(z.object(providersEnv), env);

function problemsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("providers from the environment", () => {
  it("enable Web Push alone by default, with keys generated into DATA_DIR and the public key exposed", async () => {
    const dir = dataDir();
    const configured = providersFromEnv(parse({}), dir);
    expect(configured.fcm).toBeUndefined();
    expect(configured.apns).toBeUndefined();
    expect(configured.web_push.kind).toBe("web_push");
    expect(existsSync(vapidKeysPath(dir))).toBe(true);
    expect(providersFromEnv(parse({}), dir).vapidPublicKey).toBe(configured.vapidPublicKey);
    await configured.close();
  });

  it("sign Web Push with a P-256 PEM key from VAPID_PRIVATE_KEY_FILE (a Helm-generated Secret), exposing its public key", async () => {
    const service = await FakeWebPushService.start();
    const raw = webpush.generateVAPIDKeys();
    const point = Buffer.from(raw.publicKey, "base64url");
    const jwk = { kty: "EC", crv: "P-256", d: raw.privateKey, x: point.subarray(1, 33).toString("base64url"), y: point.subarray(33).toString("base64url") };
    const keyFile = join(root, "vapid.pem");
    writeFileSync(keyFile, createPrivateKey({ key: jwk, format: "jwk" }).export({ type: "sec1", format: "pem" }));
    const dir = dataDir();
    const configured = providersFromEnv(parse({ VAPID_PRIVATE_KEY_FILE: keyFile, WEB_PUSH_ALLOW_HTTP: "true" }), dir);
    try {
      expect(configured.vapidPublicKey).toBe(raw.publicKey);
      expect(configured.describe).toContain(`web_push: VAPID keys from VAPID_PRIVATE_KEY_FILE ${keyFile}`);
      const browser = service.subscribe();
      const sent = await configured.web_push.send({ kind: "web_push", endpoint: browser.endpoint, p256dh: browser.p256dh, auth: browser.auth }, messageNotification());
      expect(sent).toMatchObject({ outcome: "accepted" });
      expect(service.refusals).toEqual([]);
      expect(service.receivedBy(browser)[0]?.vapid.publicKey).toBe(raw.publicKey);
      expect(existsSync(vapidKeysPath(dir))).toBe(false);
    } finally {
      await configured.close();
      await service.close();
    }
  });

  it("enable FCM from a service account file and APNs from its four variables, pointed at the configured endpoints", async () => {
    const fcm = await FakeFcm.start();
    const apns = await FakeApns.start();
    const accountFile = join(root, "service-account.json");
    writeFileSync(accountFile, JSON.stringify(fcm.serviceAccount()));
    const keyFile = join(root, "AuthKey.p8");
    writeFileSync(keyFile, apns.keyPem);
    const configured = providersFromEnv(
      parse({
        FCM_SERVICE_ACCOUNT_FILE: accountFile,
        FCM_BASE_URL: fcm.origin,
        APNS_KEY_FILE: keyFile,
        APNS_KEY_ID: apns.keyId,
        APNS_TEAM_ID: apns.teamId,
        APNS_BUNDLE_ID: apns.bundleId,
        APNS_SANDBOX_URL: apns.origin,
        PUSH_TTL_SECONDS: "600",
      }),
      dataDir(),
    );
    try {
      expect(await configured.fcm?.send({ kind: "fcm", token: "t1" }, messageNotification())).toMatchObject({ outcome: "accepted" });
      expect(await configured.apns?.send({ kind: "apns", token: "b".repeat(64), environment: "sandbox" }, messageNotification())).toMatchObject({ outcome: "accepted" });
      expect(fcm.received[0]?.message.android?.ttl).toBe("600s");
      expect(apns.received).toHaveLength(1);
    } finally {
      await configured.close();
      await fcm.close();
      await apns.close();
    }
  });

  it("take the service account as JSON too", async () => {
    const fcm = await FakeFcm.start();
    const configured = providersFromEnv(parse({ FCM_SERVICE_ACCOUNT_JSON: JSON.stringify(fcm.serviceAccount()), FCM_BASE_URL: fcm.origin }), dataDir());
    expect(await configured.fcm?.send({ kind: "fcm", token: "t1" }, messageNotification())).toMatchObject({ outcome: "accepted" });
    await fcm.close();
  });

  it("report every configuration problem at once", () => {
    const rsaPem = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const notEc = join(root, "rsa.p8");
    writeFileSync(notEc, rsaPem);
    const problems = problemsOf(() =>
      providersFromEnv(
        parse({
          VAPID_PUBLIC_KEY: webpush.generateVAPIDKeys().publicKey,
          FCM_SERVICE_ACCOUNT_JSON: JSON.stringify({ project_id: "p", client_email: "e" }),
          APNS_KEY_FILE: notEc,
          APNS_KEY_ID: "K",
        }),
        dataDir(),
      ),
    );
    expect(problems).toEqual([
      expect.stringMatching(/VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY go together/),
      expect.stringMatching(/FCM_SERVICE_ACCOUNT_JSON: private_key/),
      expect.stringMatching(/missing APNS_TEAM_ID, APNS_BUNDLE_ID/),
    ]);
  });

  it("refuse an APNs key that is not a P-256 key, and both FCM sources at once", () => {
    const rsaPem = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const notEc = join(root, "rsa-2.p8");
    writeFileSync(notEc, rsaPem);
    const problems = problemsOf(() =>
      providersFromEnv(parse({ APNS_KEY_FILE: notEc, APNS_KEY_ID: "K", APNS_TEAM_ID: "T", APNS_BUNDLE_ID: "b", FCM_SERVICE_ACCOUNT_FILE: "/x", FCM_SERVICE_ACCOUNT_JSON: "{}" }), dataDir()),
    );
    expect(problems).toEqual([expect.stringMatching(/set one, not both/), expect.stringMatching(/APNS_KEY_FILE .* is a rsa key, expected ec/)]);
  });

  it("refuse a VAPID subject that is not mailto:/https: when parsing", () => {
    expect(() => parse({ VAPID_SUBJECT: "ops@example.com" })).toThrow(/VAPID_SUBJECT/);
  });
});
