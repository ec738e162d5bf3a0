import type { INetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import { Construct } from "constructs";
import { block, nameOf, tpl } from "./helm-markers.js";
import { helmObject } from "./helm-object.js";
import { labels, ports, releasePodLabels, selectorLabels } from "./names.js";

const file = "network-policies.yaml";
const enabled = ".Values.networkPolicy.enabled";

/**
 * Who may open a connection to what: the release's pods reach each other on every port;
 * from outside, only the gateways' public ports (gRPC, Connect) and the metrics scrape of the
 * metrics port from the monitoring namespace. NATS (the bundled chart's pods) only from the
 * release's own pods. Egress stays open: MongoDB, S3 and the push providers are outside.
 */
export class NetworkPolicies extends Construct {
  constructor(scope: Construct) {
    super(scope, "network-policies");
    const fromRelease = { podSelector: { matchLabels: releasePodLabels() } };
    const metricsScrape = { from: [{ namespaceSelector: block<object>("toYaml .Values.networkPolicy.metricsNamespaceSelector") }], ports: [{ port: ports.metrics, protocol: "TCP" as const }] };

    const internal: INetworkPolicy = {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: nameOf("internal"), labels: labels("network") },
      spec: {
        podSelector: { matchLabels: releasePodLabels(), matchExpressions: [{ key: "app.kubernetes.io/component", operator: "NotIn", values: ["gateway"] }] },
        policyTypes: ["Ingress"],
        ingress: [{ from: [fromRelease] }, metricsScrape],
      },
    };
    helmObject(this, "internal", internal, { file, condition: enabled });

    const gateway: INetworkPolicy = {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: nameOf("gateway"), labels: labels("network") },
      spec: {
        podSelector: { matchLabels: selectorLabels("gateway") },
        policyTypes: ["Ingress"],
        ingress: [
          { from: [fromRelease] },
          // Clients, from anywhere, only on the public ports.
          { ports: [{ port: ports.publicGrpc, protocol: "TCP" as const }, { port: ports.http, protocol: "TCP" as const }] },
          metricsScrape,
        ],
      },
    };
    helmObject(this, "gateway", gateway, { file, condition: enabled });

    const nats: INetworkPolicy = {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: nameOf("nats"), labels: labels("network") },
      spec: {
        podSelector: { matchLabels: { "app.kubernetes.io/name": "nats", "app.kubernetes.io/instance": tpl(".Release.Name") } },
        policyTypes: ["Ingress"],
        ingress: [
          { from: [fromRelease], ports: [{ port: 4222, protocol: "TCP" as const }] },
          // NATS's own cluster routes and its monitoring, between its pods.
          { from: [{ podSelector: { matchLabels: { "app.kubernetes.io/name": "nats", "app.kubernetes.io/instance": tpl(".Release.Name") } } }] },
        ],
      },
    };
    helmObject(this, "nats", nats, { file, condition: `and ${enabled} .Values.nats.enabled` });
  }
}
