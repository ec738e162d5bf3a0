import type { IConfigMap, IEnvFromSource, IEnvVar, ISecret, IVolume, IVolumeMount } from "kubernetes-models/v1";
import { Construct } from "constructs";
import { block, onlyIf, tpl, when } from "./helm-markers.js";
import { helmObject } from "./helm-object.js";
import { components, conditions, internalUrl, labels, ports } from "./names.js";
import { commonEnvName, componentEnvName } from "./pod.js";

const file = "config.yaml";

/**
 * The environment every service reads (addresses of its peers, ports, NATS, object storage)
 * in one ConfigMap, each component's own `env` values in another, and the Secrets the chart
 * makes when the values do not name existing ones.
 */
export class Config extends Construct {
  constructor(scope: Construct) {
    super(scope, "config");
    const common: IConfigMap = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: commonEnvName, labels: labels("config") },
      data: {
        HOST: "0.0.0.0",
        GRPC_PORT: String(ports.publicGrpc),
        INTERNAL_GRPC_PORT: String(ports.internalGrpc),
        HTTP_PORT: String(ports.http),
        // /metrics and /readyz on a port of their own, never on a public one.
        METRICS_PORT: String(ports.metrics),
        DATA_DIR: "/data",
        LOG_LEVEL: tpl(".Values.logLevel"),
        SHUTDOWN_GRACE_MS: tpl("mul .Values.shutdownGraceSeconds 1000"),
        NATS_URL: tpl(`include "messenger.natsUrl" .`),
        NATS_JETSTREAM_REPLICAS: tpl(".Values.jetstreamReplicas"),
        JWKS_URL: `http://${tpl(".Release.Name")}-accounts:${ports.http}/.well-known/jwks.json`,
        ACCOUNTS_URL: internalUrl("accounts"),
        STORE_URL: internalUrl("store"),
        PRESENCE_URL: internalUrl("presence"),
        MEDIA_URL: internalUrl("media"),
        ROUTER_URL: internalUrl("router"),
        GROUPS_URL: internalUrl("groups"),
        PUSH_URL: internalUrl("push"),
        MINIO_ENDPOINT: when<string>(conditions.objectStorage, ".Values.objectStorage.endpoint | quote"),
        MINIO_REGION: tpl(".Values.objectStorage.region"),
        MINIO_BUCKET: tpl(".Values.objectStorage.mediaBucket"),
        ARCHIVE_BUCKET: tpl(".Values.objectStorage.archiveBucket"),
        VAPID_SUBJECT: tpl(".Values.secrets.vapidSubject"),
        MEDIA_PUBLIC_URL: when<string>(".Values.media.publicUrl", ".Values.media.publicUrl | quote"),
      },
    };
    helmObject(this, "common-env", common, { file });
    for (const c of components) {
      const own: IConfigMap = {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: componentEnvName(c), labels: labels(c) },
        // The component's env over the release-wide env, every value a string.
        data: block(`include "messenger.stringMap" (merge (deepCopy .Values.${c}.env) .Values.env)`),
      };
      helmObject(this, `${c}-env`, own, { file });
    }

    // Keys every replica shares, generated once and kept on upgrades (lookup), and not
    // deleted with the release: a new signing key would log everyone out, a new VAPID pair
    // orphan every browser subscription.
    const keys: ISecret = {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: `${tpl(".Release.Name")}-keys`, labels: labels("config"), annotations: { "helm.sh/resource-policy": "keep" } },
      type: "Opaque",
      data: {
        "token-signing-keys": when<string>("not .Values.secrets.tokenSigningKeys", `include "messenger.keptKey" (list . "token-signing-keys" (genPrivateKey "ed25519"))`),
        "vapid-private-key": when<string>("not .Values.secrets.vapid", `include "messenger.keptKey" (list . "vapid-private-key" (genPrivateKey "ecdsa"))`),
        "media-url-secret": when<string>("not .Values.secrets.mediaUrl", `include "messenger.keptKey" (list . "media-url-secret" (randBytes 32))`),
      },
    };
    // A file of its own: the pods' checksum of config.yaml must not hash newly generated keys.
    helmObject(this, "keys", keys, { file: "keys.yaml", condition: "not (and .Values.secrets.tokenSigningKeys .Values.secrets.vapid .Values.secrets.mediaUrl)" });

    const database: ISecret = {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: `${tpl(".Release.Name")}-database`, labels: labels("config") },
      type: "Opaque",
      stringData: { MONGODB_URI: tpl(".Values.mongodb.uri") },
    };
    helmObject(this, "database", database, { file, condition: `and (${conditions.mongodb}) .Values.mongodb.uri (not .Values.mongodb.existingSecret)` });

    const objectStorage: ISecret = {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: `${tpl(".Release.Name")}-object-storage`, labels: labels("config") },
      type: "Opaque",
      stringData: { MINIO_ACCESS_KEY: tpl(".Values.objectStorage.accessKey"), MINIO_SECRET_KEY: tpl(".Values.objectStorage.secretKey") },
    };
    helmObject(this, "object-storage", objectStorage, { file, condition: `and ${conditions.objectStorage} (not .Values.objectStorage.existingSecret) (not .Values.minio.enabled)` });
  }
}

/** `name` of a key from the chart's keys Secret, or from the Secret the values name instead. */
const keyRef = (secretValue: string, key: string): IEnvVar["valueFrom"] => ({
  secretKeyRef: { name: tpl(`.Values.secrets.${secretValue} | default (printf "%s-keys" .Release.Name)`), key },
});

/** MONGODB_URI: from the Secret the values name or the chart made, or built for the bundled mongos. */
export function databaseEnv(): IEnvVar[] {
  const bundled = `and (${conditions.mongodb}) (not .Values.mongodb.uri) (not .Values.mongodb.existingSecret) (index .Values "mongodb-sharded" "enabled")`;
  return [
    onlyIf(bundled, { name: "MONGODB_ROOT_PASSWORD", valueFrom: { secretKeyRef: { name: tpl(`include "messenger.dependencyName" (list . "mongodb-sharded")`), key: "mongodb-root-password" } } }),
    onlyIf(bundled, { name: "MONGODB_URI", value: `mongodb://root:$(MONGODB_ROOT_PASSWORD)@${tpl(`include "messenger.dependencyName" (list . "mongodb-sharded")`)}:27017/messenger?authSource=admin` }),
    onlyIf(`and (${conditions.mongodb}) (or .Values.mongodb.uri .Values.mongodb.existingSecret)`, {
      name: "MONGODB_URI",
      valueFrom: { secretKeyRef: { name: tpl(`.Values.mongodb.existingSecret | default (printf "%s-database" .Release.Name)`), key: "MONGODB_URI" } },
    }),
  ];
}

/** MinIO / S3 credentials: the bundled MinIO's root user, or the Secret the values name or the chart made. */
export function objectStorageEnv(): IEnvVar[] {
  const bundled = `and ${conditions.objectStorage} .Values.minio.enabled (not .Values.objectStorage.existingSecret)`;
  const own = `and ${conditions.objectStorage} (not (and .Values.minio.enabled (not .Values.objectStorage.existingSecret)))`;
  return [
    onlyIf(bundled, { name: "MINIO_ACCESS_KEY", valueFrom: { secretKeyRef: { name: tpl(`include "messenger.dependencyName" (list . "minio")`), key: "rootUser" } } }),
    onlyIf(bundled, { name: "MINIO_SECRET_KEY", valueFrom: { secretKeyRef: { name: tpl(`include "messenger.dependencyName" (list . "minio")`), key: "rootPassword" } } }),
    onlyIf(own, { name: "MINIO_ACCESS_KEY", valueFrom: { secretKeyRef: { name: tpl(`.Values.objectStorage.existingSecret | default (printf "%s-object-storage" .Release.Name)`), key: "MINIO_ACCESS_KEY" } } }),
    onlyIf(own, { name: "MINIO_SECRET_KEY", valueFrom: { secretKeyRef: { name: tpl(`.Values.objectStorage.existingSecret | default (printf "%s-object-storage" .Release.Name)`), key: "MINIO_SECRET_KEY" } } }),
  ];
}

/** The access-token signing key set, mounted as a file for accounts. */
export const signingKeysVolume: IVolume = {
  name: "signing-keys",
  secret: { secretName: tpl(`.Values.secrets.tokenSigningKeys | default (printf "%s-keys" .Release.Name)`), items: [{ key: "token-signing-keys", path: "token-signing-keys" }] },
};
export const signingKeysMount: IVolumeMount = { name: "signing-keys", mountPath: "/etc/messenger/keys", readOnly: true };
export const signingKeysEnv: IEnvVar = { name: "TOKEN_SIGNING_KEYS_FILE", value: "/etc/messenger/keys/token-signing-keys" };

export const vapidEnv: IEnvVar = { name: "VAPID_PRIVATE_KEY", valueFrom: keyRef("vapid", "vapid-private-key") };
export const mediaUrlEnv: IEnvVar = { name: "MEDIA_URL_SECRET", valueFrom: keyRef("mediaUrl", "media-url-secret") };

/** FCM and APNs credentials (see values: secrets.pushProviders), read as environment and mounted for key files. */
export const pushProvidersEnvFrom: IEnvFromSource = onlyIf(".Values.secrets.pushProviders", { secretRef: { name: tpl(".Values.secrets.pushProviders") } });
export const pushProvidersVolume: IVolume = onlyIf(".Values.secrets.pushProviders", { name: "push-providers", secret: { secretName: tpl(".Values.secrets.pushProviders") } });
export const pushProvidersMount: IVolumeMount = onlyIf(".Values.secrets.pushProviders", { name: "push-providers", mountPath: "/etc/messenger/push", readOnly: true });
