import { createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { ConfigError, positiveInt, z } from "@messenger/config";
import type { PushProvider } from "../domain/push-ports.js";
import { apnsProductionUrl, apnsSandboxUrl, createApnsProvider } from "./apns-provider.js";
import { createFcmProvider } from "./fcm-provider.js";
import { parseServiceAccount, readServiceAccount, ServiceAccountError, type FcmServiceAccount } from "./fcm-service-account.js";
import { loadVapidKeys, VapidKeyError, vapidKeysSource, type VapidKeys } from "./vapid-keys.js";
import { createWebPushProvider } from "./web-push-provider.js";

const flag = (fallback: boolean) =>
  z
    .enum(["true", "false", "1", "0"])
    .default(fallback ? "true" : "false")
    .transform((v) => v === "true" || v === "1");

/**
 * The push providers' environment, documented in services/push/README.md. Web Push is always
 * on (VAPID keys generated into DATA_DIR when no private key is given); FCM is on when a
 * service account is given; APNs when its key file, key id, team id and bundle id are all given.
 */
export const providersEnv = {
  /** URL-safe base64; optional beside a PEM private key, which carries it. */
  VAPID_PUBLIC_KEY: z.string().min(1).optional(),
  /** The private key: the raw scalar (URL-safe base64, with VAPID_PUBLIC_KEY) or P-256 PEM text. */
  VAPID_PRIVATE_KEY: z.string().min(1).optional(),
  /** A file holding the private key, e.g. a mounted Secret with a Helm-generated P-256 PEM key. */
  VAPID_PRIVATE_KEY_FILE: z.string().min(1).optional(),
  /** How push services reach the operator: mailto: or https:. */
  VAPID_SUBJECT: z.string().regex(/^(mailto:.+|https:\/\/.+)$/, "expected a mailto: or https:// URL").default("mailto:push@localhost"),
  /** Lets Web Push endpoints be http: (local test push services only). */
  WEB_PUSH_ALLOW_HTTP: flag(false),
  FCM_SERVICE_ACCOUNT_FILE: z.string().min(1).optional(),
  FCM_SERVICE_ACCOUNT_JSON: z.string().min(1).optional(),
  FCM_BASE_URL: z.string().url().default("https://fcm.googleapis.com"),
  APNS_KEY_FILE: z.string().min(1).optional(),
  APNS_KEY_ID: z.string().min(1).optional(),
  APNS_TEAM_ID: z.string().min(1).optional(),
  APNS_BUNDLE_ID: z.string().min(1).optional(),
  APNS_PRODUCTION_URL: z.string().url().default(apnsProductionUrl),
  APNS_SANDBOX_URL: z.string().url().default(apnsSandboxUrl),
  /** How long a push service keeps an undelivered notification. */
  PUSH_TTL_SECONDS: positiveInt(86_400),
  PUSH_PROVIDER_TIMEOUT_MS: positiveInt(10_000),
};

const providersEnvSchema = z.object(providersEnv);
export type ProvidersEnv = z.infer<typeof providersEnvSchema>;

/** The providers the environment enables. */
export interface ConfiguredProviders {
  readonly web_push: PushProvider;
  readonly fcm?: PushProvider;
  readonly apns?: PushProvider;
  /** What browsers pass as applicationServerKey when they subscribe (URL-safe base64). */
  readonly vapidPublicKey: string;
  /** One line per enabled provider, for the start-up log. */
  readonly describe: readonly string[];
  close(): Promise<void>;
}

/**
 * Builds the enabled providers, checking at boot what the schema alone cannot (keys that go
 * together, key files that must parse); every problem is reported at once as a ConfigError.
 */
export function providersFromEnv(env: ProvidersEnv, dataDir: string): ConfiguredProviders {
  const problems: string[] = [];
  const common = { ttlSeconds: env.PUSH_TTL_SECONDS, timeoutMs: env.PUSH_PROVIDER_TIMEOUT_MS };
  const describe: string[] = [];

  let vapid: VapidKeys | undefined;
  try {
    const vapidConfig = { publicKey: env.VAPID_PUBLIC_KEY, privateKey: env.VAPID_PRIVATE_KEY, privateKeyFile: env.VAPID_PRIVATE_KEY_FILE, subject: env.VAPID_SUBJECT };
    vapid = loadVapidKeys(vapidConfig, dataDir);
    describe.push(`web_push: VAPID keys from ${vapidKeysSource(vapidConfig, dataDir)}`);
  } catch (error) {
    if (!(error instanceof VapidKeyError)) throw error;
    problems.push(error.message);
  }

  let account: FcmServiceAccount | undefined;
  if (env.FCM_SERVICE_ACCOUNT_FILE && env.FCM_SERVICE_ACCOUNT_JSON) problems.push("FCM_SERVICE_ACCOUNT_FILE and FCM_SERVICE_ACCOUNT_JSON: set one, not both");
  else if (env.FCM_SERVICE_ACCOUNT_FILE || env.FCM_SERVICE_ACCOUNT_JSON) {
    try {
      account = env.FCM_SERVICE_ACCOUNT_FILE ? readServiceAccount(env.FCM_SERVICE_ACCOUNT_FILE) : parseServiceAccount(env.FCM_SERVICE_ACCOUNT_JSON ?? "", "FCM_SERVICE_ACCOUNT_JSON");
      checkKey(account.private_key, "rsa", "the FCM service account's private_key");
      describe.push(`fcm: project ${account.project_id} at ${env.FCM_BASE_URL}`);
    } catch (error) {
      if (!(error instanceof ServiceAccountError || error instanceof KeyError)) throw error;
      problems.push(error.message);
      account = undefined;
    }
  }

  const apnsVars = { APNS_KEY_FILE: env.APNS_KEY_FILE, APNS_KEY_ID: env.APNS_KEY_ID, APNS_TEAM_ID: env.APNS_TEAM_ID, APNS_BUNDLE_ID: env.APNS_BUNDLE_ID };
  const missing = Object.entries(apnsVars).filter(([, v]) => v === undefined).map(([k]) => k);
  let apnsKeyPem: string | undefined;
  if (missing.length > 0 && missing.length < 4) problems.push(`APNs needs APNS_KEY_FILE, APNS_KEY_ID, APNS_TEAM_ID and APNS_BUNDLE_ID together; missing ${missing.join(", ")}`);
  else if (missing.length === 0 && env.APNS_KEY_FILE) {
    try {
      apnsKeyPem = readFileSync(env.APNS_KEY_FILE, "utf8");
      checkKey(apnsKeyPem, "ec", `APNS_KEY_FILE ${env.APNS_KEY_FILE}`);
      describe.push(`apns: team ${env.APNS_TEAM_ID} key ${env.APNS_KEY_ID} topic ${env.APNS_BUNDLE_ID}`);
    } catch (error) {
      problems.push(error instanceof KeyError ? error.message : `cannot read APNS_KEY_FILE ${env.APNS_KEY_FILE}: ${String(error)}`);
      apnsKeyPem = undefined;
    }
  }

  if (problems.length > 0 || !vapid) throw new ConfigError(problems);

  const web_push = createWebPushProvider({ vapid, allowHttpEndpoints: env.WEB_PUSH_ALLOW_HTTP, ...common });
  const fcm = account ? createFcmProvider({ serviceAccount: account, baseUrl: env.FCM_BASE_URL, ...common }) : undefined;
  const apns =
    apnsKeyPem && env.APNS_KEY_ID && env.APNS_TEAM_ID && env.APNS_BUNDLE_ID
      ? createApnsProvider({ keyPem: apnsKeyPem, keyId: env.APNS_KEY_ID, teamId: env.APNS_TEAM_ID, bundleId: env.APNS_BUNDLE_ID, productionUrl: env.APNS_PRODUCTION_URL, sandboxUrl: env.APNS_SANDBOX_URL, ...common })
      : undefined;
  const all: PushProvider[] = [web_push, ...(fcm ? [fcm] : []), ...(apns ? [apns] : [])];
  return {
    web_push,
    ...(fcm ? { fcm } : {}),
    ...(apns ? { apns } : {}),
    vapidPublicKey: vapid.publicKey,
    describe,
    close: async () => {
      await Promise.all(all.map((p) => p.close()));
    },
  };
}

class KeyError extends Error {}

/** A PKCS#8 PEM of the expected type (Apple's .p8 is a P-256 EC key, Google's an RSA key). */
function checkKey(pem: string, type: "ec" | "rsa", what: string): void {
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(pem);
  } catch (error) {
    throw new KeyError(`${what} is not a PEM private key: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (key.asymmetricKeyType !== type) throw new KeyError(`${what} is a ${String(key.asymmetricKeyType)} key, expected ${type}`);
  if (type === "ec" && key.asymmetricKeyDetails?.namedCurve !== "prime256v1") throw new KeyError(`${what} is not on P-256 (ES256)`);
}
