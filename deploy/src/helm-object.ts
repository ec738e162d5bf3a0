import { ApiObject, JsonPatch, type ApiObjectProps } from "cdk8s";
import { block } from "./helm-markers.js";
import type { Construct } from "constructs";

/** Where an object goes in the chart: its template file and the condition it is emitted under. */
export interface Placement {
  /** Template file under templates/ (objects of one component share one). */
  readonly file: string;
  /** A Go template condition; none: always emitted. */
  readonly condition?: string | undefined;
  /**
   * metadata.annotations as YAML text from the values (`toYaml .Values.x.annotations`): set
   * after cdk8s built the metadata, which would copy a marker string key by key.
   */
  readonly annotations?: string;
}

const placements = new WeakMap<ApiObject, Placement>();

/**
 * A Kubernetes object of the chart: a cdk8s ApiObject (so the chart is an ordinary cdk8s
 * construct tree) that also knows its template file and condition.
 */
export function helmObject(scope: Construct, id: string, object: { apiVersion: string; kind: string }, placement: Placement): ApiObject {
  const api = new ApiObject(scope, id, object as ApiObjectProps);
  if (placement.annotations) api.addJsonPatch(JsonPatch.add("/metadata/annotations", block(placement.annotations)));
  placements.set(api, placement);
  return api;
}

export function placementOf(object: ApiObject): Placement {
  const placement = placements.get(object);
  if (!placement) throw new Error(`${object.node.path} was not made with helmObject`);
  return placement;
}
