import type { IConfigMap } from "kubernetes-models/v1";
import type { IServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";
import { Construct } from "constructs";
import { nameOf, spread, tpl } from "./helm-markers.js";
import { helmObject } from "./helm-object.js";
import { labels, releasePodLabels } from "./names.js";

const file = "observability.yaml";

/**
 * Prometheus Operator scraping (one ServiceMonitor over every component's Service: /metrics on
 * the metrics port) and a Grafana dashboard in a ConfigMap the Grafana sidecar picks up.
 */
export class Observability extends Construct {
  constructor(scope: Construct) {
    super(scope, "observability");
    const monitor: IServiceMonitor = {
      apiVersion: "monitoring.coreos.com/v1",
      kind: "ServiceMonitor",
      metadata: { name: nameOf("services"), labels: { ...labels("metrics"), ...spread(".Values.metrics.serviceMonitor.labels") } },
      spec: {
        // The components' own Services (the gateways' public one would scrape them twice).
        selector: { matchLabels: releasePodLabels(), matchExpressions: [{ key: "app.kubernetes.io/component", operator: "NotIn", values: ["gateway-public", "config", "network", "metrics"] }] },
        endpoints: [{ port: "metrics", path: "/metrics", interval: tpl(".Values.metrics.serviceMonitor.interval") }],
      },
    };
    helmObject(this, "service-monitor", monitor, { file, condition: ".Values.metrics.serviceMonitor.enabled" });

    const dashboard: IConfigMap = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: nameOf("dashboard"), labels: { ...labels("metrics"), ...spread(".Values.metrics.dashboard.labels") } },
      data: { "messenger.json": JSON.stringify(grafanaDashboard(), null, 1) },
    };
    helmObject(this, "dashboard", dashboard, { file, condition: ".Values.metrics.dashboard.enabled" });
  }
}

interface Panel {
  readonly title: string;
  readonly unit: string;
  readonly exprs: readonly { expr: string; legend: string }[];
}

const panels: readonly Panel[] = [
  { title: "Active client streams", unit: "short", exprs: [{ expr: "sum(messenger_gateway_active_streams) by (pod)", legend: "{{pod}}" }] },
  { title: "Sends per second", unit: "ops", exprs: [{ expr: "sum(rate(messenger_gateway_sends_total[1m])) by (result)", legend: "{{result}}" }] },
  {
    title: "Send → stored (p50, p99)",
    unit: "s",
    exprs: [
      { expr: "histogram_quantile(0.5, sum(rate(messenger_gateway_send_seconds_bucket[5m])) by (le))", legend: "p50" },
      { expr: "histogram_quantile(0.99, sum(rate(messenger_gateway_send_seconds_bucket[5m])) by (le))", legend: "p99" },
    ],
  },
  {
    title: "Stored → delivered on a stream (p50, p99)",
    unit: "s",
    exprs: [
      { expr: "histogram_quantile(0.5, sum(rate(messenger_gateway_delivery_seconds_bucket[5m])) by (le))", legend: "p50" },
      { expr: "histogram_quantile(0.99, sum(rate(messenger_gateway_delivery_seconds_bucket[5m])) by (le))", legend: "p99" },
    ],
  },
  { title: "Frames delivered per second", unit: "ops", exprs: [{ expr: "sum(rate(messenger_gateway_frames_delivered_total[1m]))", legend: "frames" }] },
  { title: "RPC errors per second", unit: "ops", exprs: [{ expr: 'sum(rate(messenger_rpc_duration_seconds_count{code!="OK"}[1m])) by (rpc, code)', legend: "{{rpc}} {{code}}" }] },
  {
    title: "NATS link (bus catch-ups, router circuit open)",
    unit: "short",
    exprs: [
      { expr: "sum(increase(messenger_gateway_bus_catch_ups_total[5m]))", legend: "bus catch-ups / 5m" },
      { expr: "sum(messenger_gateway_router_circuit_open)", legend: "gateways with the router circuit open" },
    ],
  },
  {
    title: "Store: rows written per second, retention behind, corrupt archive reads",
    unit: "short",
    exprs: [
      { expr: "sum(rate(messenger_store_rows_written_total[1m]))", legend: "rows/s" },
      { expr: "max(messenger_store_retention_behind)", legend: "retention behind" },
      { expr: "sum(increase(messenger_store_archive_corrupt_reads_total[1h]))", legend: "corrupt reads / 1h" },
    ],
  },
  {
    title: "Push: sent, failed, queue lag",
    unit: "short",
    exprs: [
      { expr: "sum(rate(messenger_push_sent_total[1m]))", legend: "sent/s" },
      { expr: "sum(rate(messenger_push_failed_total[1m])) by (reason)", legend: "failed {{reason}}" },
      { expr: "max(messenger_push_queue_lag_seconds)", legend: "queue lag (s)" },
    ],
  },
];

/** The dashboard (Grafana's JSON model): one time series panel per row of two. */
export function grafanaDashboard(): object {
  return {
    title: "messenger",
    uid: "messenger-overview",
    schemaVersion: 39,
    time: { from: "now-1h", to: "now" },
    refresh: "30s",
    templating: { list: [{ name: "datasource", type: "datasource", query: "prometheus" }] },
    panels: panels.map((p, i) => ({
      id: i + 1,
      type: "timeseries",
      title: p.title,
      datasource: { type: "prometheus", uid: "${datasource}" },
      gridPos: { h: 8, w: 12, x: (i % 2) * 12, y: Math.floor(i / 2) * 8 },
      fieldConfig: { defaults: { unit: p.unit }, overrides: [] },
      targets: p.exprs.map((e, j) => ({ refId: String.fromCharCode(65 + j), expr: e.expr, legendFormat: e.legend })),
    })),
  };
}
