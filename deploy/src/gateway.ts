import type { IConfigMap, IService } from "kubernetes-models/v1";
import type { IHorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2";
import type { IScaledObject } from "@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject";
import { Construct } from "constructs";
import { stringify } from "yaml";
import { num, tpl, value } from "./helm-markers.js";
import { helmObject } from "./helm-object.js";
import { componentName, labels, selectorLabels } from "./names.js";
import { Workload } from "./workloads.js";

const file = "gateway.yaml";
const metric = "messenger_gateway_active_streams";
const autoscaling = ".Values.gateway.autoscaling";

/** Seconds between SIGTERM's preStop and the drain: endpoints stop sending new clients first. */
export const gatewayPreStopSeconds = 5;

/**
 * The gateways: clients' long-lived streams. A public Service for gRPC and Connect/gRPC-Web,
 * and, with autoscaling on, replicas driven by active streams per pod (KEDA on the Prometheus
 * query, or an HPA on the custom metric through prometheus-adapter). A scale-down drains:
 * the preStop wait, then SIGTERM starts the drain (go_away: clients resume on another
 * gateway), inside a grace period longer than both.
 */
export class Gateway extends Construct {
  constructor(scope: Construct) {
    super(scope, "gateway-scaling");
    new Workload(scope, {
      component: "gateway",
      env: [{ name: "GATEWAY_ID", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }],
      scaledWhen: `${autoscaling}.enabled`,
      preStopSleepSeconds: gatewayPreStopSeconds,
    });

    const name = `${componentName("gateway")}-public`;
    const service: IService = {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name, labels: labels("gateway-public") },
      spec: {
        type: value<"LoadBalancer" | "ClusterIP" | "NodePort">("gateway.service.type"),
        selector: selectorLabels("gateway"),
        ports: [
          { name: "grpc", port: num(".Values.gateway.service.grpcPort"), targetPort: "grpc", appProtocol: "kubernetes.io/h2c" },
          { name: "http", port: num(".Values.gateway.service.httpPort"), targetPort: "http" },
        ],
      },
    };
    helmObject(this, "public-service", service, { file, annotations: "toYaml .Values.gateway.service.annotations" });

    const scaledObject: IScaledObject = {
      apiVersion: "keda.sh/v1alpha1",
      kind: "ScaledObject",
      metadata: { name: componentName("gateway"), labels: labels("gateway") },
      spec: {
        scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: componentName("gateway") },
        minReplicaCount: num(`${autoscaling}.minReplicas`),
        maxReplicaCount: num(`${autoscaling}.maxReplicas`),
        advanced: { horizontalPodAutoscalerConfig: { behavior: scaleBehavior() } },
        triggers: [
          {
            type: "prometheus",
            metricType: "AverageValue",
            metadata: {
              serverAddress: tpl(`${autoscaling}.prometheusAddress`),
              // The release's streams over all its gateways; KEDA divides by the threshold.
              query: `sum(${metric}{namespace="${tpl(".Release.Namespace")}",pod=~"${tpl(".Release.Name")}-gateway-.*"})`,
              threshold: tpl(`${autoscaling}.activeStreamsPerPod | toString`),
            },
          },
        ],
      },
    };
    helmObject(this, "scaled-object", scaledObject, { file, condition: `and ${autoscaling}.enabled (eq ${autoscaling}.mode "keda")` });

    const hpa: IHorizontalPodAutoscaler = {
      apiVersion: "autoscaling/v2",
      kind: "HorizontalPodAutoscaler",
      metadata: { name: componentName("gateway"), labels: labels("gateway") },
      spec: {
        scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: componentName("gateway") },
        minReplicas: num(`${autoscaling}.minReplicas`),
        maxReplicas: num(`${autoscaling}.maxReplicas`),
        behavior: scaleBehavior(),
        metrics: [{ type: "Pods", pods: { metric: { name: metric }, target: { type: "AverageValue", averageValue: tpl(`${autoscaling}.activeStreamsPerPod | toString`) } } }],
      },
    };
    helmObject(this, "hpa", hpa, { file, condition: `and ${autoscaling}.enabled (eq ${autoscaling}.mode "hpa")` });

    // The prometheus-adapter rule that serves the gauge as a per-pod custom metric; merge it
    // into the adapter's rules (its chart's `rules.custom`), or mount this ConfigMap as its config.
    const adapterRules: IConfigMap = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: `${componentName("gateway")}-prometheus-adapter`, labels: labels("gateway") },
      data: {
        "config.yaml": stringify({
          rules: [
            {
              seriesQuery: `${metric}{namespace!="",pod!=""}`,
              resources: { overrides: { namespace: { resource: "namespace" }, pod: { resource: "pod" } } },
              name: { matches: `^${metric}$`, as: metric },
              metricsQuery: "sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)",
            },
          ],
        }),
      },
    };
    helmObject(this, "adapter-rules", adapterRules, { file, condition: `and ${autoscaling}.enabled (eq ${autoscaling}.mode "hpa")` });
  }
}

/** Up fast (a reconnect storm needs room at once), down slowly and one pod at a time, so each drain's clients settle first. */
function scaleBehavior(): NonNullable<NonNullable<IHorizontalPodAutoscaler["spec"]>["behavior"]> {
  return {
    scaleUp: { stabilizationWindowSeconds: 0, policies: [{ type: "Percent", value: 100, periodSeconds: 30 }] },
    scaleDown: { stabilizationWindowSeconds: num(`${autoscaling}.scaleDownStabilizationSeconds`), policies: [{ type: "Pods", value: 1, periodSeconds: 60 }] },
  };
}

