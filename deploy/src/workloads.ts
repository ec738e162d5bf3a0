import type { IEnvFromSource, IEnvVar, IVolume, IVolumeMount } from "kubernetes-models/v1";
import type { IDeployment, IStatefulSet } from "kubernetes-models/apps/v1";
import type { IService } from "kubernetes-models/v1";
import type { IPodDisruptionBudget } from "kubernetes-models/policy/v1";
import type { IHorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2";
import { Construct } from "constructs";
import { helmObject } from "./helm-object.js";
import { num, value, when } from "./helm-markers.js";
import { conditions, componentName, labels, ports, selectorLabels, sqliteStateful, type Component } from "./names.js";
import { podTemplate } from "./pod.js";

export interface WorkloadProps {
  readonly component: Component;
  readonly env?: readonly IEnvVar[];
  readonly envFrom?: readonly IEnvFromSource[];
  readonly volumes?: readonly IVolume[];
  readonly volumeMounts?: readonly IVolumeMount[];
  /** Offers `<component>.autoscaling` (an HPA on CPU). */
  readonly cpuAutoscaling?: boolean;
  /** Replicas come from elsewhere when this holds (gateway: its own autoscaler). */
  readonly scaledWhen?: string;
  readonly preStopSleepSeconds?: number;
}

/**
 * One service of the system: a Deployment (any number of replicas), or with database=sqlite
 * for the services that keep SQLite files a one-replica StatefulSet with its volume; its
 * Service for peers (internal gRPC and HTTP), a PodDisruptionBudget, and an HPA on CPU where
 * the values turn it on.
 */
export class Workload extends Construct {
  constructor(scope: Construct, props: WorkloadProps) {
    super(scope, props.component);
    const c = props.component;
    const file = `${c}.yaml`;
    const stateful = sqliteStateful.includes(c);
    const metadata = { name: componentName(c), labels: labels(c) };
    const autoscaled = props.scaledWhen ?? (props.cpuAutoscaling ? `.Values.${c}.autoscaling.enabled` : undefined);
    const pod = { component: c, command: c, env: props.env, envFrom: props.envFrom, volumes: props.volumes, volumeMounts: props.volumeMounts, preStopSleepSeconds: props.preStopSleepSeconds };

    const deployment: IDeployment = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata,
      spec: {
        replicas: autoscaled ? when<number>(`not ${autoscaled}`, `.Values.${c}.replicas`) : num(`.Values.${c}.replicas`),
        revisionHistoryLimit: 5,
        selector: { matchLabels: selectorLabels(c) },
        strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: "25%" } },
        template: podTemplate({ ...pod, dataVolume: "emptyDir" }),
      },
    };
    helmObject(this, "deployment", deployment, { file, condition: stateful ? conditions.mongodb : undefined });

    if (stateful) {
      const statefulSet: IStatefulSet = {
        apiVersion: "apps/v1",
        kind: "StatefulSet",
        metadata,
        spec: {
          // SQLite has one writer: the chart refuses more (validate.yaml).
          replicas: 1,
          serviceName: componentName(c),
          selector: { matchLabels: selectorLabels(c) },
          template: podTemplate({ ...pod, dataVolume: "claim" }),
          volumeClaimTemplates: [
            {
              metadata: { name: "data" },
              spec: {
                accessModes: ["ReadWriteOnce"],
                storageClassName: when<string>(".Values.sqlite.storageClass", ".Values.sqlite.storageClass"),
                resources: { requests: { storage: value("sqlite.size") } },
              },
            },
          ],
        },
      };
      helmObject(this, "statefulset", statefulSet, { file, condition: conditions.sqlite });
    }

    const service: IService = {
      apiVersion: "v1",
      kind: "Service",
      metadata,
      spec: {
        // Headless: peers resolve every pod and spread their calls over them (round robin,
        // connections aged out so new pods are found); a ClusterIP would pin each caller's
        // one HTTP/2 connection to one pod.
        clusterIP: "None",
        selector: selectorLabels(c),
        ports: [
          { name: "grpc-internal", port: ports.internalGrpc, targetPort: "grpc-internal", appProtocol: "kubernetes.io/h2c" },
          { name: "http", port: ports.http, targetPort: "http" },
          { name: "metrics", port: ports.metrics, targetPort: "metrics" },
        ],
      },
    };
    helmObject(this, "service", service, { file });

    // One pod at a time may be evicted; not for a one-replica StatefulSet, whose budget would
    // block every node drain.
    const pdb: IPodDisruptionBudget = {
      apiVersion: "policy/v1",
      kind: "PodDisruptionBudget",
      metadata,
      spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels(c) } },
    };
    helmObject(this, "pdb", pdb, { file, condition: stateful ? conditions.mongodb : undefined });

    if (props.cpuAutoscaling) {
      const hpa: IHorizontalPodAutoscaler = {
        apiVersion: "autoscaling/v2",
        kind: "HorizontalPodAutoscaler",
        metadata,
        spec: {
          scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: componentName(c) },
          minReplicas: num(`.Values.${c}.autoscaling.minReplicas`),
          maxReplicas: num(`.Values.${c}.autoscaling.maxReplicas`),
          metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: num(`.Values.${c}.autoscaling.cpuUtilization`) } } }],
        },
      };
      const condition = stateful ? `and ${autoscaled} (${conditions.mongodb})` : autoscaled;
      helmObject(this, "hpa", hpa, { file, condition });
    }
  }
}

