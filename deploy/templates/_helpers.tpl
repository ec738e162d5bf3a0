{{/*
Written by hand (deploy/templates/_helpers.tpl) and copied into the chart by npm run synth.
*/}}

{{/*
The name a dependency chart gives its objects in this release (the Bitnami/NATS/MinIO
fullname rule): the release name when it already holds the chart's name, else
<release>-<chart>. Argument: (list $ "nats").
*/}}
{{- define "messenger.dependencyName" -}}
{{- $root := index . 0 -}}
{{- $chart := index . 1 -}}
{{- if contains $chart $root.Release.Name -}}
{{ $root.Release.Name | trunc 63 | trimSuffix "-" }}
{{- else -}}
{{ printf "%s-%s" $root.Release.Name $chart | trunc 63 | trimSuffix "-" }}
{{- end -}}
{{- end }}

{{/* NATS: the URL the values give, else the release's own NATS (the nats dependency). */}}
{{- define "messenger.natsUrl" -}}
{{- if .Values.nats.url -}}
{{ .Values.nats.url }}
{{- else -}}
nats://{{ include "messenger.dependencyName" (list . "nats") }}:4222
{{- end -}}
{{- end }}

{{/* A map as ConfigMap data: every value a quoted string, keys sorted. */}}
{{- define "messenger.stringMap" -}}
{{- range $key, $value := . }}
{{ $key }}: {{ $value | toString | quote }}
{{- end }}
{{- end }}

{{/*
A key of the release's keys Secret, base64 as Secret data wants it: the one the cluster
already holds (lookup), so an upgrade keeps it, else the new one given.
Arguments: (list $ "key-name" newValue).
*/}}
{{- define "messenger.keptKey" -}}
{{- $root := index . 0 -}}
{{- $key := index . 1 -}}
{{- $existing := lookup "v1" "Secret" $root.Release.Namespace (printf "%s-keys" $root.Release.Name) -}}
{{- if and $existing (hasKey ($existing.data | default dict) $key) -}}
{{ index $existing.data $key }}
{{- else -}}
{{ index . 2 | b64enc }}
{{- end -}}
{{- end }}
