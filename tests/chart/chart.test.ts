// The Helm chart charts/messenger: the committed chart is what `npm run synth` writes, every
// template reads only keys values.yaml has, and for the default values and three other value
// sets every rendered object validates against the Kubernetes 1.34 API schemas (and the KEDA
// and Prometheus Operator CRDs) and has what matters for running it: probes, a hardened pod,
// a grace period longer than the drain, selectors that match their pods, internal ports
// closed to the outside, and an environment that each pod's own service accepts. Rendered by
// Go's text/template with sprig (tests/chart/helm-render), not by helm itself, which cannot be
// installed here.
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import type { z } from "@messenger/config";
import { chartFiles } from "../../deploy/src/synth.js";
import { accountsEnv } from "../../services/accounts/src/env.js";
import { gatewayEnv } from "../../services/gateway/src/env.js";
import { groupsEnv } from "../../services/groups/src/env.js";
import { mediaServiceEnv } from "../../services/media/src/env.js";
import { presenceEnv } from "../../services/presence/src/env.js";
import { pushEnv } from "../../services/push/src/env.js";
import { routerEnv } from "../../services/router/src/env.js";
import { storeEnv } from "../../services/store/src/env.js";
import { helmTemplate, HelmTemplateError, type KubeManifest } from "./helm-template.js";
import { schemaErrors } from "./kube-validate.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const chartDir = join(root, "charts/messenger");
const valuesDir = join(root, "tests/chart/values");
const valueSets = { default: [], "minimal-sqlite": ["minimal-sqlite.yaml"], "external-keda": ["external-keda.yaml"], "bundled-hpa": ["bundled-hpa.yaml"] } as const;
type ValueSet = keyof typeof valueSets;

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string }; configMapKeyRef?: { name: string; key: string }; fieldRef?: { fieldPath: string } };
}
interface Container {
  name: string;
  args?: string[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  startupProbe?: { grpc?: { port: number } };
  readinessProbe?: { grpc?: { port: number } };
  livenessProbe?: { grpc?: { port: number }; periodSeconds: number; failureThreshold: number };
  lifecycle?: { preStop?: { sleep?: { seconds: number } } };
  securityContext?: { allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean; runAsNonRoot?: boolean; capabilities?: { drop?: string[] } };
  volumeMounts?: { name: string; mountPath: string }[];
}
interface PodSpec {
  automountServiceAccountToken?: boolean;
  securityContext?: { runAsNonRoot?: boolean; seccompProfile?: { type: string } };
  terminationGracePeriodSeconds?: number;
  containers: Container[];
  volumes?: { name: string; secret?: { secretName: string } }[];
}
interface Workload extends KubeManifest {
  kind: string;
  metadata: { name: string; labels: Record<string, string> };
  spec: { replicas?: number; selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: PodSpec } };
}

const render = async (set: ValueSet, extra: string[] = []) =>
  // Rendered for the oldest Kubernetes the chart supports (Chart.yaml kubeVersion).
  helmTemplate({ chartDir, releaseName: "chat", namespace: "msg", kubeVersion: "1.31.0", valuesFiles: [...valueSets[set].map((f) => join(valuesDir, f)), ...extra], notes: true });

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

const named = (manifests: KubeManifest[], kind: string, name: string): KubeManifest | undefined =>
  manifests.find((m) => m.kind === kind && (m.metadata as { name: string }).name === name);
const workloads = (manifests: KubeManifest[]): Workload[] => manifests.filter((m): m is Workload => m.kind === "Deployment" || m.kind === "StatefulSet");
const configEnv = (manifests: KubeManifest[]): Record<string, string> => (named(manifests, "ConfigMap", "chat-env")?.data ?? {}) as Record<string, string>;
const containerOf = (m: KubeManifest): Container => {
  const spec = m.spec as { template?: { spec: PodSpec } } & Partial<PodSpec>;
  return (spec.template?.spec ?? (spec as PodSpec)).containers[0]!;
};
const subset = (small: Record<string, string>, big: Record<string, string>): boolean => Object.entries(small).every(([k, v]) => big[k] === v);

describe("the committed chart", () => {
  it("is exactly what npm run synth writes (no drift)", () => {
    const fresh = chartFiles();
    const committed = new Map(filesUnder(chartDir).map((p) => [relative(chartDir, p), readFileSync(p, "utf8")]));
    expect([...committed.keys()].sort()).toEqual([...fresh.keys()].sort());
    for (const [path, text] of fresh) expect(committed.get(path), `charts/messenger/${path} differs from npm run synth: run it and commit`).toBe(text);
  });

  it("reads only keys that values.yaml has", () => {
    const values = parse(readFileSync(join(chartDir, "values.yaml"), "utf8")) as Record<string, unknown>;
    const has = (path: string[]): boolean => {
      let at: unknown = values;
      for (const key of path) {
        if (typeof at !== "object" || at === null || !(key in at)) return false;
        at = (at as Record<string, unknown>)[key];
      }
      return true;
    };
    const templates = filesUnder(join(chartDir, "templates")).map((p) => readFileSync(p, "utf8")).join("\n");
    const paths = new Set([...templates.matchAll(/\.Values\.([A-Za-z0-9_.]+)/g)].map((m) => m[1]!.replace(/\.$/, "")));
    expect(paths.size).toBeGreaterThan(30);
    const missing = [...paths].filter((p) => !has(p.split(".")));
    expect(missing).toEqual([]);
  });
});

describe.each(Object.keys(valueSets) as ValueSet[])("rendered with the %s values", (set) => {
  let manifests: KubeManifest[];
  beforeAll(async () => {
    manifests = (await render(set)).manifests;
  }, 120_000);

  it("validates against the Kubernetes and CRD schemas", () => {
    expect(manifests.length).toBeGreaterThan(25);
    const errors = manifests.map((m) => [`${String(m.kind)}/${(m.metadata as { name: string }).name}`, schemaErrors(m)]).filter(([, e]) => e);
    expect(errors).toEqual([]);
  });

  it("runs every service, each pod hardened with gRPC health probes and a grace period above its drain", () => {
    const byComponent = new Map(workloads(manifests).map((w) => [w.metadata.labels["app.kubernetes.io/component"], w]));
    expect([...byComponent.keys()].sort()).toEqual(["accounts", "gateway", "groups", "media", "presence", "push", "router", "store"]);
    const drainSeconds = Number(configEnv(manifests).SHUTDOWN_GRACE_MS) / 1000;
    expect(drainSeconds).toBeGreaterThan(0);
    for (const w of workloads(manifests)) {
      const pod = w.spec.template.spec;
      const [container] = pod.containers;
      expect(pod.automountServiceAccountToken, w.metadata.name).toBe(false);
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } });
      expect(container!.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ["ALL"] } });
      for (const probe of [container!.startupProbe, container!.readinessProbe, container!.livenessProbe]) expect(probe?.grpc?.port, w.metadata.name).toBe(7001);
      // The liveness probe must not kill a stopping pod (health is NOT_SERVING for the whole of
      // a stop, which the process allows up to 3 × the grace).
      expect(container!.livenessProbe!.periodSeconds * container!.livenessProbe!.failureThreshold).toBeGreaterThan(3 * drainSeconds);
      // The kubelet must not SIGKILL a stop the process still runs: the preStop wait, then up to
      // 3 × the grace it allows itself (drain, close, its own exit deadline).
      const preStop = container!.lifecycle?.preStop?.sleep?.seconds ?? 0;
      expect(preStop, w.metadata.name).toBeGreaterThan(0);
      expect(pod.terminationGracePeriodSeconds, w.metadata.name).toBeGreaterThan(preStop + 3 * drainSeconds);
      expect(container!.volumeMounts?.map((m) => m.mountPath)).toContain("/tmp");
      expect(subset(w.spec.selector.matchLabels, w.spec.template.metadata.labels), `${w.metadata.name}: selector matches its pods`).toBe(true);
    }
    const gateway = byComponent.get("gateway")!.spec.template.spec.containers[0]!;
    expect(gateway.lifecycle?.preStop?.sleep?.seconds).toBeGreaterThanOrEqual(5);
    expect(gateway.env?.find((e) => e.name === "GATEWAY_ID")?.valueFrom).toEqual({ fieldRef: { fieldPath: "metadata.name" } });
  });

  it("has Services and disruption budgets whose selectors match pods, and references only objects it makes or the values name", () => {
    const podLabels = workloads(manifests).map((w) => w.spec.template.metadata.labels);
    for (const m of manifests.filter((x) => x.kind === "Service" || x.kind === "PodDisruptionBudget")) {
      const spec = m.spec as { selector: Record<string, string> | { matchLabels: Record<string, string> } };
      const selector = "matchLabels" in spec.selector ? (spec.selector.matchLabels as Record<string, string>) : spec.selector;
      expect(podLabels.some((l) => subset(selector, l)), `${String(m.kind)} ${(m.metadata as { name: string }).name}`).toBe(true);
    }
    const configMaps = new Set(manifests.filter((m) => m.kind === "ConfigMap").map((m) => (m.metadata as { name: string }).name));
    const secrets = new Set(manifests.filter((m) => m.kind === "Secret").map((m) => (m.metadata as { name: string }).name));
    // Secrets made outside the chart: the ones the values name and the dependencies' own.
    for (const external of ["messenger-mongodb", "messenger-s3", "messenger-token-keys", "messenger-vapid", "messenger-media-url", "messenger-push-providers", "chat-mongodb-sharded", "chat-minio"]) secrets.add(external);
    for (const w of workloads(manifests)) {
      const c = w.spec.template.spec.containers[0]!;
      for (const from of c.envFrom ?? []) {
        if (from.configMapRef) expect(configMaps.has(from.configMapRef.name), from.configMapRef.name).toBe(true);
        if (from.secretRef) expect(secrets.has(from.secretRef.name), from.secretRef.name).toBe(true);
      }
      for (const e of c.env ?? []) if (e.valueFrom?.secretKeyRef) expect(secrets.has(e.valueFrom.secretKeyRef.name), `${w.metadata.name} ${e.name}`).toBe(true);
      for (const v of w.spec.template.spec.volumes ?? []) if (v.secret) expect(secrets.has(v.secret.secretName), v.secret.secretName).toBe(true);
    }
  });

  it("gives every pod an environment its own service's schema accepts, and sets no variable that no service reads", () => {
    const given = new Set<string>();
    for (const w of workloads(manifests)) {
      const component = w.metadata.labels["app.kubernetes.io/component"]!;
      const schema = serviceSchemas[component];
      expect(schema, `${w.metadata.name}: no env schema for component ${component}`).toBeDefined();
      const env = podEnv(manifests, w, podName(w));
      const result = schema!.safeParse(env);
      const issues = result.success ? [] : result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
      expect(issues, `${w.metadata.name}: the environment the chart gives it fails services/${component}/src/env.ts`).toEqual([]);
      for (const name of Object.keys(env)) given.add(name);
    }
    // A misspelt name would be stripped by zod without a word: every name must be one a service reads.
    const read = new Set(Object.values(serviceSchemas).flatMap((s) => Object.keys(s.shape)));
    const unknown = [...given].filter((name) => !read.has(name) && !expandedOnly(manifests).has(name));
    expect(unknown, "variables the chart sets that no service schema reads").toEqual([]);
  });

  it("gives the MongoDB init Job its MONGODB_URI and the helm test pod a gateway URL", () => {
    const mongoUris = workloads(manifests).map((w) => podEnv(manifests, w, podName(w)).MONGODB_URI).filter((u) => u !== undefined);
    const init = named(manifests, "Job", "chat-mongo-init");
    // The Job exists exactly when the services keep their data in MongoDB.
    expect(init !== undefined, "a mongo-init Job iff the services get MONGODB_URI").toBe(mongoUris.length > 0);
    if (init) expect(podEnv(manifests, init, "chat-mongo-init-x2k4p").MONGODB_URI).toMatch(/^mongodb(\+srv)?:\/\/[^$]+$/);
    const smoke = named(manifests, "Pod", "chat-smoke-test");
    const url = podEnv(manifests, smoke!, "chat-smoke-test").MESSENGER_GRPC_URL ?? "";
    expect(URL.canParse(url) && ["http:", "https:"].includes(new URL(url).protocol), `MESSENGER_GRPC_URL=${url}`).toBe(true);
  });

  it("opens to the outside only the gateways' public ports (and media's blob port when it serves the blobs), and covers every pod", () => {
    const policies = manifests.filter((m) => m.kind === "NetworkPolicy");
    if (set === "minimal-sqlite") return expect(policies).toEqual([]);
    type Policy = { spec: { ingress: { from?: unknown[]; ports?: { port: number }[] }[]; podSelector: { matchLabels: Record<string, string>; matchExpressions?: { key: string; operator: string; values: string[] }[] } } };
    const selects = (p: Policy, podLabels: Record<string, string>): boolean =>
      subset(p.spec.podSelector.matchLabels, podLabels) &&
      (p.spec.podSelector.matchExpressions ?? []).every((e) => (e.operator === "NotIn" ? !e.values.includes(podLabels[e.key] ?? "") : e.values.includes(podLabels[e.key] ?? "")));
    const localBlobs = !configEnv(manifests).MINIO_ENDPOINT;
    for (const w of workloads(manifests)) {
      const component = w.metadata.labels["app.kubernetes.io/component"]!;
      const mine = (policies as unknown as Policy[]).filter((p) => selects(p, w.spec.template.metadata.labels));
      // Every pod is under a policy, so nothing is open that no rule opens.
      expect(mine.length, component).toBeGreaterThan(0);
      const open = mine.flatMap((p) => p.spec.ingress.filter((r) => !r.from)).flatMap((r) => (r.ports ?? [{ port: -1 }]).map((x) => x.port));
      const allowed = component === "gateway" ? [7000, 8080] : component === "media" && localBlobs ? [8080] : [];
      expect([...new Set(open)].sort(), `${component}: ports open to anyone`).toEqual(allowed);
      // Metrics only from the monitoring namespace, never from anywhere.
      expect(open).not.toContain(9090);
    }
  });
});

describe("what each value set chooses", () => {
  it("sqlite: store, accounts and media are one-replica StatefulSets with a volume, and the chart refuses to scale them", async () => {
    const { manifests } = await render("minimal-sqlite");
    for (const c of ["store", "accounts", "media"]) {
      const w = named(manifests, "StatefulSet", `chat-${c}`) as Workload | undefined;
      expect(w?.spec.replicas, c).toBe(1);
      expect(named(manifests, "Deployment", `chat-${c}`)).toBeUndefined();
    }
    expect(configEnv(manifests)).toMatchObject({ NATS_URL: "nats://chat-nats:4222", NATS_JETSTREAM_REPLICAS: "1" });
    for (const c of ["store", "accounts", "media"]) {
      const error = await render("minimal-sqlite", [writeValues({ [c]: { replicas: 2 } })]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(HelmTemplateError);
      expect((error as Error).message).toContain(`${c} keeps SQLite files with database=sqlite and runs as one replica`);
    }
  });

  it("external: stateless Deployments on MongoDB and S3 from the named Secrets, NATS from its URL, gateways scaled by KEDA on active streams", async () => {
    const { manifests } = await render("external-keda");
    expect(manifests.filter((m) => m.kind === "StatefulSet")).toEqual([]);
    const store = named(manifests, "Deployment", "chat-store") as Workload;
    expect(store.spec.replicas).toBe(3);
    const env = store.spec.template.spec.containers[0]!.env!;
    expect(env.find((e) => e.name === "MONGODB_URI")?.valueFrom?.secretKeyRef).toEqual({ name: "messenger-mongodb", key: "MONGODB_URI" });
    expect(env.find((e) => e.name === "MINIO_SECRET_KEY")?.valueFrom?.secretKeyRef).toEqual({ name: "messenger-s3", key: "MINIO_SECRET_KEY" });
    expect(configEnv(manifests)).toMatchObject({ NATS_URL: "nats://nats.messaging.svc:4222", MINIO_ENDPOINT: "https://s3.example.com", SHUTDOWN_GRACE_MS: "40000" });
    // The autoscaler owns the gateways' replicas.
    expect((named(manifests, "Deployment", "chat-gateway") as Workload).spec.replicas).toBeUndefined();
    const scaled = named(manifests, "ScaledObject", "chat-gateway") as { spec: { triggers: { metadata: { query: string; threshold: string } }[]; minReplicaCount: number } };
    expect(scaled.spec.minReplicaCount).toBe(3);
    expect(scaled.spec.triggers[0]!.metadata).toMatchObject({ threshold: "10000", query: 'sum(messenger_gateway_active_streams{namespace="msg",pod=~"chat-gateway-.*"})' });
    expect(named(manifests, "HorizontalPodAutoscaler", "chat-gateway")).toBeUndefined();
    expect(named(manifests, "Secret", "chat-keys")).toBeUndefined();
    expect(named(manifests, "ServiceMonitor", "chat-services")?.metadata).toMatchObject({ labels: { release: "kube-prometheus-stack" } });
    expect(named(manifests, "Job", "chat-mongo-init")).toBeDefined();
  });

  it("bundled: MONGODB_URI built from the mongodb-sharded Secret, MinIO's root user, gateways scaled by an HPA on the custom metric", async () => {
    const { manifests } = await render("bundled-hpa");
    const env = (named(manifests, "Deployment", "chat-accounts") as Workload).spec.template.spec.containers[0]!.env!;
    const names = env.map((e) => e.name);
    expect(names.indexOf("MONGODB_ROOT_PASSWORD")).toBeLessThan(names.indexOf("MONGODB_URI"));
    expect(env.find((e) => e.name === "MONGODB_URI")?.value).toBe("mongodb://root:$(MONGODB_ROOT_PASSWORD)@chat-mongodb-sharded:27017/messenger?authSource=admin");
    const mediaEnv = (named(manifests, "Deployment", "chat-media") as Workload).spec.template.spec.containers[0]!.env!;
    expect(mediaEnv.find((e) => e.name === "MINIO_ACCESS_KEY")?.valueFrom?.secretKeyRef).toEqual({ name: "chat-minio", key: "rootUser" });
    const hpa = named(manifests, "HorizontalPodAutoscaler", "chat-gateway") as { spec: { metrics: { pods: { metric: { name: string }; target: { averageValue: string } } }[] } };
    expect(hpa.spec.metrics[0]!.pods).toEqual({ metric: { name: "messenger_gateway_active_streams" }, target: { type: "AverageValue", averageValue: "10000" } });
    expect(named(manifests, "ConfigMap", "chat-gateway-prometheus-adapter")).toBeDefined();
    // The keys every replica shares: generated as sprig does (Ed25519 and P-256 PEM, 32 random bytes).
    const keys = (named(manifests, "Secret", "chat-keys") as { data: Record<string, string> }).data;
    expect(Buffer.from(keys["token-signing-keys"]!, "base64").toString()).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(Buffer.from(keys["vapid-private-key"]!, "base64").toString()).toMatch(/^-----BEGIN EC PRIVATE KEY-----/);
    expect(Buffer.from(Buffer.from(keys["media-url-secret"]!, "base64").toString(), "base64")).toHaveLength(32);
  });

  it("refuses values that cannot work, saying why", async () => {
    const refusals: [Record<string, unknown>, string][] = [
      [{ database: "postgres" }, "database must be sqlite or mongodb"],
      [{ database: "mongodb", objectStorage: { endpoint: "https://s3.example.com" } }, "database=mongodb needs mongodb.uri"],
      [{ database: "mongodb", mongodb: { uri: "mongodb://m:27017/messenger" } }, "they need objectStorage.endpoint"],
      [{ nats: { enabled: false } }, "nats.enabled=false needs nats.url"],
      [{ nats: { config: { cluster: { enabled: false } } } }, "jetstreamReplicas=3 needs as many NATS servers"],
      [{ gateway: { autoscaling: { enabled: true, mode: "vpa" } } }, "gateway.autoscaling.mode must be keda or hpa"],
    ];
    for (const [values, message] of refusals) {
      const error = await render("default", [writeValues(values)]).catch((e: unknown) => e);
      expect(error, message).toBeInstanceOf(HelmTemplateError);
      expect((error as Error).message).toContain(message);
    }
  });

  it("prints NOTES that tell how to reach the gateways and run helm test", async () => {
    const { notes } = await render("default");
    expect(notes).toContain("chat-gateway-public");
    expect(notes).toContain("helm test chat -n msg");
  });
});

/** Each service's env schema, by the component label of its workload. */
const serviceSchemas: Record<string, z.ZodObject> = {
  accounts: accountsEnv,
  gateway: gatewayEnv,
  groups: groupsEnv,
  media: mediaServiceEnv,
  presence: presenceEnv,
  push: pushEnv,
  router: routerEnv,
  store: storeEnv,
};

/** Variables the chart sets only to build others through Kubernetes' $(VAR) expansion. */
function expandedOnly(manifests: KubeManifest[]): Set<string> {
  const refs = new Set<string>();
  for (const w of workloads(manifests)) for (const e of containerOf(w).env ?? []) for (const m of (e.value ?? "").matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)) refs.add(m[1]!);
  return refs;
}

/** The name Kubernetes gives a pod of this workload: a ReplicaSet hash and a suffix, or the StatefulSet ordinal. */
const podName = (w: Workload): string => (w.kind === "StatefulSet" ? `${w.metadata.name}-0` : `${w.metadata.name}-7c9d8f6b5-x2k4p`);

// What the Secrets would hold, shaped as the services check them.
const vapidPem = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "sec1", format: "pem" }).toString();
const secretPlaceholders: Record<string, string> = {
  MONGODB_URI: "mongodb://messenger:secret@mongodb-0.mongodb.db.svc:27017,mongodb-1.mongodb.db.svc:27017/messenger?replicaSet=rs0&authSource=admin",
  MONGODB_ROOT_PASSWORD: "r00t-Passw0rd",
  MEDIA_URL_SECRET: randomBytes(32).toString("base64"),
  VAPID_PRIVATE_KEY: vapidPem,
};

/**
 * The environment the kubelet would give the pod's first container: the envFrom ConfigMaps in
 * order (Secrets from envFrom hold only optional values and add nothing here), then `env` in
 * order, later names winning, each value with $(VAR) expanded from what is defined before it.
 */
function podEnv(manifests: KubeManifest[], m: KubeManifest, pod: string): Record<string, string> {
  const c = containerOf(m);
  const configMap = (name: string): Record<string, string> => {
    const cm = named(manifests, "ConfigMap", name);
    expect(cm, `ConfigMap ${name}`).toBeDefined();
    return (cm!.data ?? {}) as Record<string, string>;
  };
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? []) if (from.configMapRef) Object.assign(env, configMap(from.configMapRef.name));
  const expand = (value: string) => value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string | undefined) => (name === undefined ? "$" : (env[name] ?? whole)));
  for (const e of c.env ?? []) {
    const from = e.valueFrom;
    if (from?.secretKeyRef) env[e.name] = secretPlaceholders[e.name] ?? `${from.secretKeyRef.name}-${from.secretKeyRef.key}-value`;
    else if (from?.configMapKeyRef) env[e.name] = configMap(from.configMapKeyRef.name)[from.configMapKeyRef.key] ?? "";
    else if (from?.fieldRef?.fieldPath === "metadata.name") env[e.name] = pod;
    else if (from?.fieldRef?.fieldPath === "metadata.namespace") env[e.name] = "msg";
    else if (from) throw new Error(`${pod}: ${e.name} from ${JSON.stringify(from)} is not modelled by this test`);
    else env[e.name] = expand(e.value ?? "");
  }
  return env;
}

const scratch = mkdtempSync(join(tmpdir(), "chart-values-"));
let written = 0;
function writeValues(values: Record<string, unknown>): string {
  const path = join(scratch, `values-${++written}.yaml`);
  writeFileSync(path, stringify(values));
  return path;
}
