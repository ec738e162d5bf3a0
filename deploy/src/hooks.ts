import type { IJob } from "kubernetes-models/batch/v1";
import type { IPod } from "kubernetes-models/v1";
import { Construct } from "constructs";
import { block, nameOf, tpl } from "./helm-markers.js";
import { containerSecurity, image, podSecurity } from "./pod.js";
import { helmObject } from "./helm-object.js";
import { conditions, labels } from "./names.js";
import { databaseEnv } from "./config.js";


/**
 * The MongoDB preparation (collections, indexes, shard keys: `messenger mongo-init`) as a Helm
 * hook after install and before each upgrade, and the `helm test` pod that registers two
 * users and exchanges a message through the gateways over gRPC.
 */
export class Hooks extends Construct {
  constructor(scope: Construct) {
    super(scope, "hooks");
    const init: IJob = {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: {
        name: nameOf("mongo-init"),
        labels: labels("mongo-init"),
        annotations: { "helm.sh/hook": "post-install,pre-upgrade", "helm.sh/hook-weight": "0", "helm.sh/hook-delete-policy": "before-hook-creation,hook-succeeded" },
      },
      spec: {
        backoffLimit: 6,
        activeDeadlineSeconds: 600,
        template: {
          metadata: { labels: labels("mongo-init") },
          spec: {
            restartPolicy: "OnFailure",
            automountServiceAccountToken: false,
            imagePullSecrets: block("toYaml .Values.imagePullSecrets"),
            securityContext: podSecurity,
            containers: [{ name: "mongo-init", image, args: ["mongo-init"], env: databaseEnv(), securityContext: containerSecurity, resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "256Mi" } } }],
          },
        },
      },
    };
    helmObject(this, "mongo-init", init, { file: "hooks.yaml", condition: conditions.mongodb });

    const test: IPod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: nameOf("smoke-test"), labels: labels("test"), annotations: { "helm.sh/hook": "test", "helm.sh/hook-delete-policy": "before-hook-creation" } },
      spec: {
        restartPolicy: "Never",
        automountServiceAccountToken: false,
        imagePullSecrets: block("toYaml .Values.imagePullSecrets"),
        securityContext: podSecurity,
        containers: [
          {
            name: "smoke",
            image,
            args: ["smoke"],
            env: [{ name: "MESSENGER_GRPC_URL", value: `http://${nameOf("gateway-public")}:${tpl(".Values.gateway.service.grpcPort")}` }],
            securityContext: containerSecurity,
            resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "256Mi" } },
          },
        ],
      },
    };
    helmObject(this, "smoke-test", test, { file: "tests/smoke-test.yaml" });
  }
}
