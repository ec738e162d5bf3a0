import { nameOf, releaseName, tpl } from "./helm-markers.js";

/** The services of the system, each its own Deployment (or StatefulSet). */
export type Component = "gateway" | "router" | "store" | "presence" | "media" | "groups" | "accounts" | "push";

export const components: readonly Component[] = ["gateway", "router", "store", "presence", "media", "groups", "accounts", "push"];

/** Components that keep SQLite files with database=sqlite: one replica on a volume then. */
export const sqliteStateful: readonly Component[] = ["store", "accounts", "media"];

/** Ports every service listens on in the pod (the same image, the same layout). */
export const ports = { publicGrpc: 7000, internalGrpc: 7001, http: 8080, metrics: 9090 } as const;

/** Labels that select a component's pods: never change after install (selectors are immutable). */
export function selectorLabels(component: string): Record<string, string> {
  return { "app.kubernetes.io/name": "messenger", "app.kubernetes.io/instance": releaseName, "app.kubernetes.io/component": component };
}

/** Labels of every object: the selector labels plus version and owner. */
export function labels(component: string): Record<string, string> {
  return {
    ...selectorLabels(component),
    "app.kubernetes.io/version": tpl(".Chart.AppVersion"),
    "app.kubernetes.io/managed-by": tpl(".Release.Service"),
    "app.kubernetes.io/part-of": "messenger",
    "helm.sh/chart": `messenger-${tpl(".Chart.Version")}`,
  };
}

/** Labels every pod of the release carries, whatever its component (NetworkPolicy peers). */
export function releasePodLabels(): Record<string, string> {
  return { "app.kubernetes.io/name": "messenger", "app.kubernetes.io/instance": releaseName };
}

export const componentName = (component: Component): string => nameOf(component);

/** The internal gRPC address of a component's Service, as peers call it. */
export const internalUrl = (component: Component): string => `http://${nameOf(component)}:${ports.internalGrpc}`;

/** Go template conditions used across the chart. */
export const conditions = {
  sqlite: `eq .Values.database "sqlite"`,
  mongodb: `eq .Values.database "mongodb"`,
  objectStorage: `.Values.objectStorage.endpoint`,
} as const;
