import { Chart, type App } from "cdk8s";
import { Config, databaseEnv, mediaUrlEnv, objectStorageEnv, pushProvidersEnvFrom, pushProvidersMount, pushProvidersVolume, signingKeysEnv, signingKeysMount, signingKeysVolume, vapidEnv } from "./config.js";
import { Gateway } from "./gateway.js";
import { Hooks } from "./hooks.js";
import { NetworkPolicies } from "./network.js";
import { MediaPublic } from "./media-public.js";
import { Observability } from "./observability.js";
import { Workload } from "./workloads.js";

/**
 * The whole release: every service of the system, its configuration and keys, network
 * policies, monitoring, the MongoDB init hook and the helm test. Objects carry Helm
 * template actions (helm-markers.ts); synth.ts writes them as the chart's templates.
 */
export class MessengerChart extends Chart {
  constructor(scope: App, id: string) {
    // No cdk8s name hashing: object names are the release's, set on each object.
    super(scope, id, { disableResourceNameHashes: true });
    new Config(this);
    new Gateway(this);
    new Workload(this, { component: "router", cpuAutoscaling: true });
    new Workload(this, { component: "store", cpuAutoscaling: true, env: [...databaseEnv(), ...objectStorageEnv()] });
    new Workload(this, { component: "presence" });
    new Workload(this, { component: "media", env: [...databaseEnv(), ...objectStorageEnv(), mediaUrlEnv] });
    new MediaPublic(this);
    new Workload(this, { component: "groups" });
    new Workload(this, {
      component: "accounts",
      cpuAutoscaling: true,
      env: [...databaseEnv(), signingKeysEnv],
      volumes: [signingKeysVolume],
      volumeMounts: [signingKeysMount],
    });
    new Workload(this, { component: "push", cpuAutoscaling: true, env: [vapidEnv], envFrom: [pushProvidersEnvFrom], volumes: [pushProvidersVolume], volumeMounts: [pushProvidersMount] });
    new NetworkPolicies(this);
    new Observability(this);
    new Hooks(this);
  }
}
