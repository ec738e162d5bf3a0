import type { IService } from "kubernetes-models/v1";
import type { INetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import { Construct } from "constructs";
import { nameOf, num, value } from "./helm-markers.js";
import { helmObject } from "./helm-object.js";
import { conditions, labels, ports, selectorLabels } from "./names.js";

const file = "media.yaml";
const localBlobs = `not ${conditions.objectStorage}`;

/**
 * Without object storage, media keeps blobs on its own volume and serves the signed upload
 * and download URLs from its HTTP port: clients must reach it. A Service of its own for an
 * ingress or a load balancer (`media.publicUrl` is where clients reach it, the base of the
 * URLs), and a NetworkPolicy that opens that port, only that port, to them.
 */
export class MediaPublic extends Construct {
  constructor(scope: Construct) {
    super(scope, "media-public");
    const service: IService = {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: nameOf("media-public"), labels: labels("media-public") },
      spec: {
        type: value<"ClusterIP">("media.service.type"),
        selector: selectorLabels("media"),
        ports: [{ name: "http", port: num(".Values.media.service.httpPort"), targetPort: "http" }],
      },
    };
    helmObject(this, "service", service, { file, condition: localBlobs });

    const policy: INetworkPolicy = {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: nameOf("media-blobs"), labels: labels("network") },
      spec: {
        podSelector: { matchLabels: selectorLabels("media") },
        policyTypes: ["Ingress"],
        ingress: [{ ports: [{ port: ports.http, protocol: "TCP" }] }],
      },
    };
    helmObject(this, "policy", policy, { file, condition: `and .Values.networkPolicy.enabled (${localBlobs})` });
  }
}
