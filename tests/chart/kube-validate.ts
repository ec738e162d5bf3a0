// Validates rendered manifests against the Kubernetes API schemas of kubernetes-models (5.x:
// the Kubernetes 1.34 OpenAPI) and the CRD schemas of KEDA and the Prometheus Operator.
import { ScaledObject } from "@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject";
import { ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";
import { Deployment, StatefulSet } from "kubernetes-models/apps/v1";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2";
import { Job } from "kubernetes-models/batch/v1";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { ConfigMap, Pod, Secret, Service } from "kubernetes-models/v1";

/** The stated Kubernetes version of the schemas (kubernetes-models' generated API). */
export const schemaKubernetesVersion = "1.34";

interface Validatable {
  validate(): void;
}
type ModelClass = new (data: never) => Validatable;

const models: Record<string, ModelClass> = {
  "v1/ConfigMap": ConfigMap,
  "v1/Secret": Secret,
  "v1/Service": Service,
  "v1/Pod": Pod,
  "apps/v1/Deployment": Deployment,
  "apps/v1/StatefulSet": StatefulSet,
  "autoscaling/v2/HorizontalPodAutoscaler": HorizontalPodAutoscaler,
  "batch/v1/Job": Job,
  "networking.k8s.io/v1/NetworkPolicy": NetworkPolicy,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "keda.sh/v1alpha1/ScaledObject": ScaledObject,
  "monitoring.coreos.com/v1/ServiceMonitor": ServiceMonitor,
};

/** The schema errors of one manifest ("" when it is valid); an unknown kind is an error too. */
export function schemaErrors(manifest: Record<string, unknown>): string {
  const key = `${String(manifest.apiVersion)}/${String(manifest.kind)}`;
  const Model = models[key];
  if (!Model) return `no schema for ${key}`;
  try {
    new Model(manifest as never).validate();
    return "";
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}
