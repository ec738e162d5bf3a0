// helm-render against fixture charts: the expected output is what Helm 3's documented
// semantics give (values merging, Go templates with sprig, toYaml through JSON, kind
// ordering), written out by hand.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { buildHelmRenderer, helmTemplate, HelmRendererUnavailableError, HelmTemplateError, type KubeManifest } from "./helm-template.js";

const fixtures = fileURLToPath(new URL("./fixtures/", import.meta.url));
const basic = join(fixtures, "basic");
const values = (name: string) => join(fixtures, "values", `${name}.yaml`);
const release = { releaseName: "chat", namespace: "messaging" };

const basicDefaults = `---
# Source: basic/templates/configmap.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: chat-basic-config
  namespace: messaging
  annotations:
    rendered-from: basic/templates/configmap.yaml
data:
  MAX_GROUP_SIZE: "256"
  # Helm values are float64: printed as is, large numbers turn to exponent form.
  UPLOAD_LIMIT_BYTES_RAW: "1.048576e+07"
  UPLOAD_LIMIT_BYTES: "10485760"
  RETENTION: "keep-forever"
  KUBERNETES_VERSION: "v1.36.0"
  # A missing key prints nothing: Helm deletes the marker Go prints for it.
  NOT_SET: ""
  ADDRESS: "chat-gateway:8080"
  ALLOWED_TYPES: "[\\"image/png\\",\\"image/jpeg\\"]"
  VALUE_KEYS: "config,env,image,ingress,podAnnotations,replicaCount,resources,service,tolerations"
  config.yaml: |
    allowedTypes:
    - image/png
    - image/jpeg
    maxGroupSize: 256
    retention: keep-forever
    uploadLimitBytes: 10485760
---
# Source: basic/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: chat-basic
  labels:
    helm.sh/chart: basic-1.2.3
    app.kubernetes.io/name: basic
    app.kubernetes.io/instance: chat
    app.kubernetes.io/version: "0.9.0"
    app.kubernetes.io/managed-by: Helm
spec:
  type: ClusterIP
  ports:
    - name: grpc
      port: 8080
      targetPort: grpc
  selector:
    app.kubernetes.io/name: basic
    app.kubernetes.io/instance: chat
---
# Source: basic/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: chat-basic
  labels:
    helm.sh/chart: basic-1.2.3
    app.kubernetes.io/name: basic
    app.kubernetes.io/instance: chat
    app.kubernetes.io/version: "0.9.0"
    app.kubernetes.io/managed-by: Helm
spec:
  replicas: 2
  selector:
    matchLabels:
      app.kubernetes.io/name: basic
      app.kubernetes.io/instance: chat
  template:
    metadata:
      labels:
        app.kubernetes.io/name: basic
        app.kubernetes.io/instance: chat
      annotations:
        prometheus.io/port: "9090"
        prometheus.io/scrape: "true"
    spec:
      containers:
        - name: gateway
          image: "ghcr.io/example/gateway:0.9.0"
          ports:
            - name: grpc
              containerPort: 8080
          env:
            - name: LOG_LEVEL
              value: "info"
            - name: NATS_URL
              value: "nats://nats:4222"
          resources:
            limits:
              cpu: 500m
              memory: 256Mi
            requests:
              cpu: 100m
      tolerations:
        - effect: NoSchedule
          key: dedicated
          operator: Equal
          value: chat
---
# Source: basic/templates/tests/connection-test.yaml
apiVersion: v1
kind: Pod
metadata:
  name: chat-basic-test
  annotations:
    helm.sh/hook: test
spec:
  restartPolicy: Never
  containers:
    - name: probe
      image: busybox:1.36
      command: ["nc", "-z", "chat-basic", "8080"]
`;

function byKind(manifests: readonly KubeManifest[], kind: string): Record<string, any> {
  const found = manifests.filter((m) => m.kind === kind);
  expect(found, `exactly one ${kind}`).toHaveLength(1);
  return found[0] as Record<string, any>;
}

const scratch = mkdtempSync(join(tmpdir(), "helm-render-test-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("helmTemplate", () => {
  // A cold build compiles Go's standard library once (about 20 s); later runs hit the cache.
  beforeAll(() => buildHelmRenderer().then(() => undefined), 180_000);

  it("prints a chart's defaults as helm template does: include/nindent, toYaml, range, with, default, quote, kind order, hooks last", async () => {
    const { text } = await helmTemplate({ chartDir: basic, ...release });
    expect(text).toBe(basicDefaults);
  });

  it("returns every printed object with the template it came from", async () => {
    const { manifests, documents } = await helmTemplate({ chartDir: basic, ...release });
    expect(documents.map((d) => [d.source, d.manifest.kind])).toEqual([
      ["basic/templates/configmap.yaml", "ConfigMap"],
      ["basic/templates/service.yaml", "Service"],
      ["basic/templates/deployment.yaml", "Deployment"],
      ["basic/templates/tests/connection-test.yaml", "Pod"],
    ]);
    expect(byKind(manifests, "Deployment").spec.replicas).toBe(2);
    expect(byKind(manifests, "Service").spec.ports).toEqual([{ name: "grpc", port: 8080, targetPort: "grpc" }]);
  });

  it("gives the same objects as parsing the printed text as YAML 1.1", async () => {
    const { text, manifests } = await helmTemplate({ chartDir: basic, ...release, valuesFiles: [values("production"), values("overlay")] });
    const parsed = parseAllDocuments(text, { version: "1.1" }).map((d) => d.toJS() as unknown).filter((d) => d !== null);
    expect(parsed).toEqual(manifests);
  });

  it("merges -f files in order over values.yaml: the last file wins, null deletes a default, lists replace", async () => {
    const { manifests } = await helmTemplate({ chartDir: basic, ...release, valuesFiles: [values("production"), values("overlay")] });
    const deployment = byKind(manifests, "Deployment");
    expect(deployment.spec.replicas).toBe(5);
    expect(deployment.spec.template.metadata.annotations).toEqual({ "prometheus.io/scrape": "true" });
    const [container] = deployment.spec.template.spec.containers;
    expect(container.image).toBe("ghcr.io/example/gateway:1.4.0");
    expect(container.env).toEqual([{ name: "LOG_LEVEL", value: "warn" }]);
    expect(container).not.toHaveProperty("resources");
    const config = byKind(manifests, "ConfigMap").data;
    expect(config.RETENTION).toBe("forever");
    expect(config.VALUE_KEYS).toBe("config,env,image,ingress,podAnnotations,replicaCount,service,tolerations");
    expect(config["config.yaml"]).toBe("allowedTypes:\n- image/png\n- image/jpeg\nmaxGroupSize: 256\nuploadLimitBytes: 10485760\n");
  });

  it("switches if/else branches on values and on .Capabilities (--api-versions, --kube-version)", async () => {
    const plain = await helmTemplate({ chartDir: basic, ...release, valuesFiles: [values("overlay")] });
    expect(byKind(plain.manifests, "Ingress").metadata.annotations).toEqual({ "example.com/tls": "manual" });
    expect(byKind(plain.manifests, "ConfigMap").data.KUBERNETES_VERSION).toBe("v1.36.0");

    const withCertManager = await helmTemplate({
      chartDir: basic,
      ...release,
      valuesFiles: [values("overlay")],
      apiVersions: ["cert-manager.io/v1"],
      kubeVersion: "1.31.4",
    });
    const ingress = byKind(withCertManager.manifests, "Ingress");
    expect(ingress.metadata.annotations).toEqual({ "cert-manager.io/cluster-issuer": "letsencrypt" });
    expect(ingress.spec).toEqual({
      ingressClassName: "nginx",
      rules: [{ host: "chat.example.com", http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "chat-basic", port: { name: "grpc" } } } }] } }],
    });
    expect(byKind(withCertManager.manifests, "ConfigMap").data.KUBERNETES_VERSION).toBe("v1.31.4");
    expect(withCertManager.documents.map((d) => d.manifest.kind)).toEqual(["ConfigMap", "Service", "Deployment", "Ingress", "Pod"]);
  });

  it("renders NOTES.txt apart from the manifests", async () => {
    const result = await helmTemplate({ chartDir: basic, ...release, notes: true });
    expect(result.notes).toBe("basic 1.2.3 is installed as chat in messaging.\nTry it: kubectl -n messaging port-forward svc/chat-basic 8080\n");
    expect(result.text).toBe(basicDefaults);
    const withIngress = await helmTemplate({ chartDir: basic, ...release, notes: true, valuesFiles: [values("overlay")] });
    expect(withIngress.notes).toBe("basic 1.2.3 is installed as chat in messaging.\nClients connect to https://chat.example.com.\n");
  });

  it("fails with required's message at the template's line and column", async () => {
    const failure = helmTemplate({ chartDir: basic, ...release, valuesFiles: [values("nodeport-missing")] });
    await expect(failure).rejects.toBeInstanceOf(HelmTemplateError);
    await expect(failure).rejects.toThrow(/^execution error at \(basic\/templates\/service\.yaml:15:19\): service\.nodePort is required when service\.type is NodePort$/);
  });

  it("fails with fail's message", async () => {
    await expect(helmTemplate({ chartDir: basic, ...release, valuesFiles: [values("ingress-no-host")] })).rejects.toThrow(
      /^execution error at \(basic\/templates\/ingress\.yaml:3:4\): ingress\.host must be set when ingress\.enabled is true$/,
    );
  });

  it("fails on template syntax, naming the file and line", async () => {
    await expect(helmTemplate({ chartDir: join(fixtures, "bad-syntax"), ...release })).rejects.toThrow(/^parse error at \(bad-syntax\/templates\/configmap\.yaml:7\): unexpected EOF$/);
  });

  it("fails when a template renders invalid YAML", async () => {
    await expect(helmTemplate({ chartDir: join(fixtures, "bad-yaml"), ...release })).rejects.toThrow(
      /^YAML parse error on bad-yaml\/templates\/configmap\.yaml: error converting YAML to JSON: yaml: line 6: /,
    );
  });

  it("fails on a values file that is not YAML and on a chart that does not exist", async () => {
    await expect(helmTemplate({ chartDir: basic, ...release, valuesFiles: [join(fixtures, "basic", "templates", "_helpers.tpl")] })).rejects.toThrow(/^failed to parse .*_helpers\.tpl: error converting YAML to JSON/);
    await expect(helmTemplate({ chartDir: join(fixtures, "no-such-chart"), ...release })).rejects.toThrow(/^path ".*no-such-chart" not found$/);
  });
});

describe("buildHelmRenderer", () => {
  it("names the Debian packages to install when Go is missing", async () => {
    await expect(buildHelmRenderer({ cacheDir: join(scratch, "no-go"), goCommand: join(scratch, "no-such-go") })).rejects.toThrow(
      new HelmRendererUnavailableError(
        "Go is not installed (no `go` command): helm-render (tests/chart/helm-render) is built with Go from Helm's template libraries. Install them with: apt-get install golang-go golang-github-masterminds-sprig-dev golang-github-masterminds-semver-dev golang-github-mitchellh-copystructure-dev golang-k8s-sigs-yaml-dev golang-gopkg-yaml.v3-dev golang-github-burntsushi-toml-dev golang-github-gobwas-glob-dev",
      ),
    );
  });

  it("names the Debian packages to install when Helm's Go libraries are missing", async () => {
    const failure = buildHelmRenderer({ cacheDir: join(scratch, "no-libs"), libraryPath: join(scratch, "empty-gopath") });
    await expect(failure).rejects.toBeInstanceOf(HelmRendererUnavailableError);
    await expect(failure).rejects.toThrow(/Go libraries that Helm's engine uses are missing: .*apt-get install golang-go .*golang-github-masterminds-sprig-dev[^]*cannot find package "github.com\/Masterminds\/sprig\/v3"/);
  });
});
