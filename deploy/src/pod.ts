import type { IContainer, IEnvFromSource, IEnvVar, IPodSecurityContext, IPodSpec, IPodTemplateSpec, IProbe, ISecurityContext, IVolume, IVolumeMount } from "kubernetes-models/v1";
import { block, num, tpl, value } from "./helm-markers.js";
import { labels, ports, selectorLabels, type Component } from "./names.js";

/** What one component's pod needs beyond what every pod of the release has. */
export interface PodOptions {
  readonly component: Component;
  /** The dispatcher's command in the image (`messenger <command>`). */
  readonly command: string;
  readonly env?: readonly IEnvVar[];
  /** More environment from Secrets, after the ConfigMaps (so they win). */
  readonly envFrom?: readonly IEnvFromSource[];
  readonly volumes?: readonly IVolume[];
  readonly volumeMounts?: readonly IVolumeMount[];
  /** Seconds the pod waits before SIGTERM, so endpoints stop sending it work first (default 3). */
  readonly preStopSleepSeconds?: number;
  /** Mount the data volume (a PVC template of the StatefulSet, or an emptyDir). */
  readonly dataVolume: "claim" | "emptyDir";
}

/** Name of the ConfigMap every service reads its environment from (see config-maps.ts). */
export const commonEnvName = `${tpl(".Release.Name")}-env`;
export const componentEnvName = (c: Component): string => `${tpl(".Release.Name")}-${c}-env`;

/** Every container of the release: no privilege, nothing written outside its volumes. */
export const containerSecurity: ISecurityContext = { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ["ALL"] } };

/** Every pod: the image's non-root user (uid 10001), owning its volumes, the runtime's seccomp profile. */
export const podSecurity: IPodSecurityContext = { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001, seccompProfile: { type: "RuntimeDefault" } };

/** The image every pod runs (one image, the service chosen by its command). */
export const image = `${value("image.repository")}:${tpl(".Values.image.tag | default .Chart.AppVersion")}`;

/** Native gRPC health (grpc.health.v1) on the internal port: NOT_SERVING once a drain starts. */
function grpcProbe(periodSeconds: number, failureThreshold: number): IProbe {
  return { grpc: { port: ports.internalGrpc }, periodSeconds, failureThreshold, timeoutSeconds: 2 };
}

/** The preStop wait of every service but the gateways: endpoints drop the pod before its listeners close. */
export const defaultPreStopSeconds = 3;

/**
 * The seconds a pod is given to stop: its preStop wait, then the whole of what the process
 * allows itself (runService: the drain, then closing listeners and adapters, each up to
 * SHUTDOWN_GRACE_MS, and it exits by itself at 3 × the grace + 1 s), plus 5 s: the kubelet's
 * SIGKILL never cuts a stop short.
 */
export const terminationGraceExpr = (preStopSleepSeconds: number): string => `add ${preStopSleepSeconds + 5} (mul 3 .Values.shutdownGraceSeconds)`;

export function podTemplate(o: PodOptions): IPodTemplateSpec {
  const preStop = o.preStopSleepSeconds ?? defaultPreStopSeconds;
  const container: IContainer = {
    name: o.component,
    image,
    imagePullPolicy: value<"IfNotPresent">("image.pullPolicy"),
    args: [o.command],
    ports: [
      { name: "grpc", containerPort: ports.publicGrpc },
      { name: "grpc-internal", containerPort: ports.internalGrpc },
      { name: "http", containerPort: ports.http },
      { name: "metrics", containerPort: ports.metrics },
    ],
    envFrom: [{ configMapRef: { name: commonEnvName } }, { configMapRef: { name: componentEnvName(o.component) } }, ...(o.envFrom ?? [])],
    env: [...(o.env ?? [])],
    resources: block(`toYaml .Values.${o.component}.resources`),
    // Started once the listeners answer health; ready while serving (a drain turns it off).
    startupProbe: grpcProbe(2, 60),
    readinessProbe: grpcProbe(5, 1),
    // Health answers NOT_SERVING for the whole of a stop (up to 3 × the grace): the liveness
    // probe must not fail a stopping pod before the process ends by itself.
    livenessProbe: grpcProbe(10, num("add 2 (div (mul 3 .Values.shutdownGraceSeconds) 10)")),
    securityContext: containerSecurity,
    volumeMounts: [{ name: "tmp", mountPath: "/tmp" }, { name: "data", mountPath: "/data" }, ...(o.volumeMounts ?? [])],
    lifecycle: { preStop: { sleep: { seconds: preStop } } },
  };
  const volumes: IVolume[] = [{ name: "tmp", emptyDir: { sizeLimit: "256Mi" } }, ...(o.dataVolume === "emptyDir" ? [{ name: "data", emptyDir: {} }] : []), ...(o.volumes ?? [])];
  const spec: IPodSpec = {
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    imagePullSecrets: block("toYaml .Values.imagePullSecrets"),
    securityContext: podSecurity,
    terminationGracePeriodSeconds: num(terminationGraceExpr(preStop)),
    topologySpreadConstraints: o.dataVolume === "claim" ? undefined : topologySpread(o.component),
    containers: [container],
    volumes,
  };
  return { metadata: { labels: labels(o.component), annotations: { "checksum/env": tpl(`include (print $.Template.BasePath "/config.yaml") . | sha256sum`) } }, spec };
}

/** Spread over zones, then nodes; a preference, so a small cluster still schedules. */
function topologySpread(component: Component): IPodSpec["topologySpreadConstraints"] {
  return ["topology.kubernetes.io/zone", "kubernetes.io/hostname"].map((topologyKey) => ({
    maxSkew: 1,
    topologyKey,
    whenUnsatisfiable: "ScheduleAnyway",
    labelSelector: { matchLabels: selectorLabels(component) },
    matchLabelKeys: ["pod-template-hash"],
  }));
}
