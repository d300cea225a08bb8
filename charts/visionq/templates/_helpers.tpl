{{/* Chart name, overridable. */}}
{{- define "visionq.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: the release name, or release-chart when the release name lacks the chart name. */}}
{{- define "visionq.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "visionq.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "visionq.selectorLabels" -}}
app.kubernetes.io/name: {{ include "visionq.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controller
{{- end }}

{{- define "visionq.labels" -}}
helm.sh/chart: {{ include "visionq.chart" . }}
app.kubernetes.io/name: {{ include "visionq.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: visionq
{{- end }}

{{- define "visionq.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "visionq.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The visionq image; the agent bundle is copied out of it unless agent.image is set. */}}
{{- define "visionq.image" -}}
{{- $repo := .Values.image.repository }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" $repo .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" $repo (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "visionq.agentImage" -}}
{{- default (include "visionq.image" .) .Values.agent.image }}
{{- end }}

{{/*
Client URL of NATS. Bundled: the client Service of the nats subchart, whose
name follows that chart's fullname rule (fullnameOverride, else the release
name if it contains "nats", else <release>-nats) and port config.nats.port.
*/}}
{{- define "visionq.natsUrl" -}}
{{- if .Values.nats.enabled }}
{{- $n := .Values.nats }}
{{- $svc := "" }}
{{- if $n.fullnameOverride }}
{{- $svc = $n.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default "nats" $n.nameOverride }}
{{- if contains $name .Release.Name }}
{{- $svc = .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $svc = printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- $ns := default .Release.Namespace $n.namespaceOverride }}
{{- $port := 4222 }}
{{- if and $n.config $n.config.nats $n.config.nats.port }}
{{- $port = $n.config.nats.port }}
{{- end }}
{{- printf "nats://%s.%s.svc:%v" $svc $ns $port }}
{{- else }}
{{- required "nats.external.url is required when nats.enabled=false" .Values.nats.external.url }}
{{- end }}
{{- end }}

{{- define "visionq.natsCredsDir" -}}/etc/visionq/nats-creds{{- end }}
{{- define "visionq.natsTlsDir" -}}/etc/visionq/nats-tls{{- end }}

{{/* Selector of the dashboard's pods: never matches the controller's (component differs). */}}
{{- define "visionq.dashboardSelectorLabels" -}}
app.kubernetes.io/name: {{ include "visionq.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: dashboard
{{- end }}

{{/*
Replicas of visionq's streams and attempts bucket (--nats-replicas). Explicit
nats.streamReplicas wins; else the bundled NATS passes its own size through (3
when it runs a cluster of 3 or more servers, else 1); an external NATS is left
to the controller's auto-detection from the server's cluster info.
*/}}
{{- define "visionq.streamReplicas" -}}
{{- $n := .Values.nats }}
{{- if $n.streamReplicas }}
{{- $n.streamReplicas }}
{{- else if $n.enabled }}
{{- $c := (($n.config | default dict).cluster | default dict) }}
{{- if and $c.enabled (ge (int ($c.replicas | default 1)) 3) }}3{{ else }}1{{ end }}
{{- else }}auto{{- end }}
{{- end }}
